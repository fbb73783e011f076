"""Tenants: loyalty programs, with the credentials we call their WLL tenant with."""

from django.db import models

from socialportal.crypto import EncryptedTextField

# Base URLs published by WLL; staging is the Console's "Test mode".
EU_API = "https://api.rewards.wlloyalty.net/v1"
US_API = "https://api.rewards.us.wlloyalty.net/v1"
EU_AUTH = "https://auth.wlloyalty.net"
US_AUTH = "https://auth.us.wlloyalty.net"


class Tenant(models.Model):
    """A loyalty program: one WLL tenant and the credentials we use to call it."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    api_base_url = models.URLField(
        "API base URL",
        default=EU_API,
        help_text=(
            f"EU: {EU_API}, US: {US_API}; staging adds '.staging' after 'api.'. "
            "Includes the /v1 prefix."
        ),
    )
    auth_url = models.URLField(
        "auth URL",
        blank=True,
        help_text="Where admin tokens are minted. Blank: derived from the API region.",
    )
    token_audience = models.CharField(max_length=200, default="wlloyalty.net")
    api_key = EncryptedTextField("API key", blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret = EncryptedTextField(blank=True)
    # Sent by WLL's webhook reaction in the X-Webhook-Secret header (a custom
    # header we configure on the reaction, since WLL signs nothing).
    webhook_secret = EncryptedTextField(blank=True)
    rematch_window_days = models.PositiveIntegerField(
        default=7,
        help_text="How long activity from an unknown handle waits for its member.",
    )
    tag_backfill_days = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Tags younger than this when the brand connects are rewarded; older "
            "ones are a baseline. 0: none are."
        ),
    )
    tiktok_scan_hours = models.PositiveSmallIntegerField(
        "TikTok scan interval (hours)",
        default=6,
        help_text="How often the tracked hashtags are scanned on TikTok.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def token_url(self) -> str:
        if self.auth_url:
            return self.auth_url.rstrip("/") + "/oauth/token"
        # WLL's own SDK picks the auth region the same way.
        auth = US_AUTH if ".us." in self.api_base_url else EU_AUTH
        return auth + "/oauth/token"
