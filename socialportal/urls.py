"""The URL map; the emulators are mounted under /sandbox/ only when SANDBOX is on."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from socialportal.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("webhooks/meta/", include("integrations.meta.urls")),
    path("webhooks/loyalty/", include("loyalty.urls")),
    path("connect/", include("integrations.meta.connect_urls")),
    path("meta/", include("integrations.meta.callback_urls")),
]

if settings.SANDBOX:
    # The emulators answer on the same server so a demo or a test needs nothing
    # else running; they are absent from a real deployment.
    urlpatterns += [
        path("sandbox/graph/", include("integrations.meta.emulator.urls")),
        path("sandbox/loyalty/", include("loyalty.emulator.urls")),
        path("sandbox/tiktok/", include("integrations.tiktok.emulator.urls")),
    ]
