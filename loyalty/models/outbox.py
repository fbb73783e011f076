"""The outbox: what we owe the Loyalty Engine, written in the same transaction as
the activity that caused it and sent later by a worker.

WLL has no idempotency key, so these rows are the only guard against awarding a
member twice: a row is claimed by one worker at a time and marked sent once.
"""

from django.db import models
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "sending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"


class OutboxRow(models.Model):
    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    member = models.ForeignKey("loyalty.Member", on_delete=models.CASCADE)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set when a worker claims the row; a row left "sending" long after this was
    # orphaned by a crashed worker and is handed out again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class LoyaltyEvent(OutboxRow):
    """One event to report with ``POST /events``."""

    type = models.CharField(max_length=64)
    subject = models.CharField(max_length=128, help_text="The member's WLL user id.")
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    # Names what caused the event (e.g. "instagram:dm:<mid>:DM_YOU_SOCIAL"); unique
    # per tenant so a re-delivered webhook or an overlapping poll adds nothing.
    dedupe_key = models.CharField(max_length=255)
    # The last send may have reached WLL (it timed out, or its worker died):
    # before sending again, look for the event there.
    outcome_unknown = models.BooleanField(default=False)
    response = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"], name="loyaltyevent_unique_dedupe_key"
            ),
        ]
        indexes = [
            # The drain's query: due rows by status and time.
            models.Index(fields=["status", "next_attempt_at"], name="event_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for {self.subject} ({self.status})"


class AttributeWrite(OutboxRow):
    """Profile attributes to merge into the member's ``profile.attributes``."""

    attributes = models.JSONField(default=dict)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"], name="attrwrite_due_idx"
            ),
        ]

    def __str__(self) -> str:
        keys = ", ".join(sorted(self.attributes))
        return f"attributes {keys} for {self.member_id} ({self.status})"
