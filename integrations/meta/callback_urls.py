from django.urls import path

from integrations.meta import callbacks

urlpatterns = [
    path("deauthorize/", callbacks.deauthorize, name="meta-deauthorize"),
    path("data-deletion/", callbacks.data_deletion, name="meta-data-deletion"),
    path(
        "data-deletion/<str:code>/",
        callbacks.data_deletion_status,
        name="meta-data-deletion-status",
    ),
]
