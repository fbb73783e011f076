"""State of the Loyalty Engine emulator (sandbox only).

These tables stand in for WLL's side of the wire: they are written only by the
emulator views and ``sandbox_load``, never by the portal's own code.
"""

import uuid

from django.db import models


class SandboxLoyaltyTenant(models.Model):
    slug = models.SlugField(unique=True)
    api_key = models.CharField(max_length=200, unique=True)
    client_id = models.CharField(max_length=200, unique=True)
    client_secret = models.CharField(max_length=200)
    # Scripted failures for tests and demos: a list of {"status": 429,
    # "retry_after": 2} answered, one per request, before normal service resumes.
    faults = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class SandboxLoyaltyUser(models.Model):
    tenant = models.ForeignKey(SandboxLoyaltyTenant, on_delete=models.CASCADE)
    id = models.CharField(primary_key=True, max_length=64, default=uuid.uuid4)
    auth_identifier = models.CharField(max_length=512, blank=True)
    account_number = models.CharField(max_length=7, blank=True)
    profile = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.id


class SandboxLoyaltyEvent(models.Model):
    tenant = models.ForeignKey(SandboxLoyaltyTenant, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxLoyaltyUser, on_delete=models.CASCADE)
    type = models.CharField(max_length=64)
    subject = models.CharField(max_length=128)
    payload = models.JSONField(default=dict)
    occurred_at = models.CharField(max_length=64, blank=True)
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} → {self.subject}"
