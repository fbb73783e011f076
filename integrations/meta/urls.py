from django.urls import path

from integrations.meta.views import meta_webhook

urlpatterns = [
    path("", meta_webhook, name="meta-webhook"),
]
