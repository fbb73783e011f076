"""Webhook deliveries, kept byte for byte as the provider sent them."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "received"
    PROCESSED = "processed", "processed"
    # Signed correctly but unusable (not JSON): kept for inspection, never processed.
    REJECTED = "rejected", "rejected"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One POST from a provider, kept byte for byte as it arrived."""

    provider = models.CharField(max_length=16, default="meta")
    body = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    # What each item of the delivery became, e.g. {"activities": 3, "ignored": {...}}.
    summary = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "received_at"], name="delivery_status_idx")
        ]

    def __str__(self) -> str:
        return f"{self.provider} delivery {self.pk} ({self.status})"
