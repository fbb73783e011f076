"""Brand onboarding: invitation links, login attempts and Meta's deletion requests.

An invitation's token is shown once and stored only as its SHA-256: the database
alone never lets anyone open a link.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from socialportal.crypto import EncryptedTextField

DEFAULT_INVITATION_DAYS = 7


class InvitationState(models.TextChoices):
    PENDING = "pending", "pending"
    USED = "used", "used"
    EXPIRED = "expired", "expired"
    REVOKED = "revoked", "revoked"


def default_expiry() -> datetime:
    return timezone.now() + timedelta(days=DEFAULT_INVITATION_DAYS)


class Invitation(models.Model):
    """A one-time link that lets a brand owner connect an Instagram account."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=default_expiry)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # What the invitation made (or reconnected), once used.
    connection = models.ForeignKey(
        "integrations.BrandConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk} for {self.tenant} ({self.state})"

    @property
    def state(self) -> InvitationState:
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.used_at is not None:
            return InvitationState.USED
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    @property
    def is_usable(self) -> bool:
        return self.state == InvitationState.PENDING


class ConnectAttempt(models.Model):
    """One trip through Facebook's login dialog, named by the OAuth ``state``.

    Single use: the callback claims it with a conditional UPDATE on ``used_at``.
    ``browser_hash`` ties it to the session that started it.
    """

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # Kept only while the owner picks one of several Instagram accounts.
    user_token = EncryptedTextField(blank=True)
    fb_user_id = models.CharField(max_length=64, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    choices = models.JSONField(default=list, blank=True)
    chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"connect attempt {self.pk}"


class DataDeletionRequest(models.Model):
    """Meta's data deletion callback for one person, and what we deleted."""

    confirmation_code = models.CharField(max_length=32, unique=True)
    # SHA-256 of the app-scoped user id: the request outlives the data it erased.
    user_hash = models.CharField(max_length=64)
    connections_erased = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"data deletion {self.confirmation_code}"


class RateLimitHit(models.Model):
    """Requests per client address per window, shared by every server process."""

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window_start"], name="ratelimithit_unique_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} hits since {self.window_start}"
