"""TikTok tracking: the tenant's hashtags, the source's daily quota, and scans.

A scan's unfinished work is kept on its row, so a scan stopped by the quota
resumes where it stopped on the next run.
"""

from django.db import models


class TrackedHashtag(models.Model):
    """A hashtag whose posts by members are reported; stored normalized, no "#"."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    hashtag = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "hashtag"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "hashtag"], name="trackedhashtag_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.hashtag}"


class TikTokQuotaDay(models.Model):
    """Requests and records one source spent on one UTC day (its quota resets at
    00:00 UTC). Reserved before each request, so the limits are never passed."""

    source = models.CharField(max_length=32)
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    # Set when the provider answered 429: nothing more is sent that day.
    is_exhausted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "source"]
        verbose_name = "TikTok quota day"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "day"], name="tiktokquotaday_unique_source_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.day}: {self.requests} requests"


class ScanStatus(models.TextChoices):
    RUNNING = "running", "running"
    # Stopped by the quota or a provider failure; the next run resumes it.
    PAUSED = "paused", "paused"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class ScanPlan(models.TextChoices):
    #: One query per batch of member usernames, filtered by hashtag.
    USERNAMES = "usernames", "member usernames filtered by hashtag"
    #: One query for the tenant's hashtags; members are picked out locally.
    HASHTAGS = "hashtags", "hashtags filtered locally by member"


class TikTokScan(models.Model):
    """One scan of a tenant's hashtags: its plan, remaining work and outcome."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    source = models.CharField(max_length=32)
    plan = models.CharField(max_length=10, choices=ScanPlan.choices)
    status = models.CharField(
        max_length=8, choices=ScanStatus.choices, default=ScanStatus.RUNNING
    )
    # Work left, in order: [{"start": "20260101", "end": ..., "days": [...],
    # "cursor": int|None, "search_id": str|None, "after": handle}].
    units = models.JSONField(default=list, blank=True)
    estimated_requests = models.PositiveIntegerField(default=0)
    # requests, records, videos, reported, retries, restarts, empty_pages, ...
    counters = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "TikTok scan"
        constraints = [
            # At most one unfinished scan per tenant: it is resumed, not doubled.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(status__in=["running", "paused"]),
                name="tiktokscan_one_open_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"TikTok scan {self.pk} of {self.tenant} ({self.status})"


class TikTokDayRead(models.Model):
    """How often a tenant's posts of one UTC day were read completely, and how
    many matched its hashtags then: the plan estimate and the re-read schedule."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    day = models.DateField()
    reads = models.PositiveSmallIntegerField(default=0)
    # Posts carrying the tenant's hashtags that day (any author), when known.
    hashtag_posts = models.PositiveIntegerField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day"], name="tiktokdayread_unique_tenant_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.day}: read {self.reads}×"
