"""WLL's outbound webhook, mounted at /webhooks/loyalty/."""

from django.urls import path

from loyalty.webhooks import loyalty_webhook

urlpatterns = [
    path("<slug:tenant_slug>/", loyalty_webhook, name="loyalty-webhook"),
]
