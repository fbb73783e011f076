"""Graph API emulator routes, mounted at ``/sandbox/graph/`` when SANDBOX is on.

The node routes match any single path segment, so routes for fixed names
(``debug_token``, ``oauth/...``, the login dialog) must come before them.
"""

from django.urls import re_path

from integrations.meta.emulator import login, tokens, views

_V = r"^(?P<version>v\d+\.\d+)/"

urlpatterns = [
    re_path(_V + r"dialog/oauth/?$", login.dialog, name="sandbox-login-dialog"),
    re_path(_V + r"oauth/access_token/?$", login.access_token),
    re_path(_V + r"me/accounts/?$", tokens.accounts),
    re_path(_V + r"debug_token/?$", tokens.debug_token),
    re_path(_V + r"(?P<page_id>[0-9]+)/subscribed_apps/?$", tokens.subscribed_apps),
    re_path(
        _V + r"(?P<node_id>[^/]+)/tags/?$",
        views.tags,
        name="sandbox-graph-tags",
    ),
    re_path(
        _V + r"(?P<node_id>[^/]+)/?$",
        views.node,
        name="sandbox-graph-node",
    ),
    # Unversioned calls, which Meta serves with the app's default version.
    re_path(r"^(?P<node_id>[^/]+)/?$", views.node, name="sandbox-graph-node-default"),
]
