"""Graph API emulator routes, mounted at ``/sandbox/graph/`` when SANDBOX is on.

The node routes match any single path segment, so routes for fixed names
(``debug_token``, ``oauth/...``, the login dialog) must come before them.
"""

from django.urls import re_path

from integrations.meta.emulator import views

urlpatterns = [
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<node_id>[^/]+)/tags/?$",
        views.tags,
        name="sandbox-graph-tags",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<node_id>[^/]+)/?$",
        views.node,
        name="sandbox-graph-node",
    ),
    # Unversioned calls, which Meta serves with the app's default version.
    re_path(r"^(?P<node_id>[^/]+)/?$", views.node, name="sandbox-graph-node-default"),
]
