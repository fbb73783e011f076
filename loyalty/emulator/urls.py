"""URLs of the Loyalty Engine emulator, mounted at /sandbox/loyalty/ when SANDBOX=1.

The token endpoint sits beside ``v1/`` the way WLL's auth host sits beside its
API host. WLL's OpenAPI spells collection paths with a trailing slash
(``/events/``) while its tutorials omit it; both are answered.
"""

from django.urls import path, re_path

from loyalty.emulator import views

urlpatterns = [
    path("oauth/token", views.token, name="sandbox-loyalty-token"),
    re_path(r"^v1/events/?$", views.events, name="sandbox-loyalty-events"),
    re_path(r"^v1/users/?$", views.users, name="sandbox-loyalty-users"),
    re_path(
        r"^v1/users/(?P<user_id>[^/]+)/?$", views.user, name="sandbox-loyalty-user"
    ),
]
