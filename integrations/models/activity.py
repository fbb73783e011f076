"""Activity: one normalized thing someone did on a platform, and its vocabularies."""

from django.db import models


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"


class ActivityKind(models.TextChoices):
    """What a member did, in our vocabulary; providers' words map onto these."""

    DM = "dm", "direct message"
    STORY_MENTION = "story_mention", "story mention"
    # A caption @mention of the brand (the ``mentions`` webhook with a media id).
    MENTION = "mention", "caption mention"
    # An @mention in a comment: Meta names no author, so rarely reportable.
    COMMENT_MENTION = "comment_mention", "comment mention"
    # The brand tagged in someone's media, found by polling the ``tags`` edge.
    TAG = "tag", "tag"
    # A TikTok video whose caption carries one of the tenant's tracked hashtags.
    HASHTAG_POST = "hashtag_post", "hashtag post"
    # Recorded so the delivery's history is complete; never reported.
    ECHO = "echo", "echo of the brand's own message"
    REACTION = "reaction", "reaction"
    READ = "read", "read receipt"
    POSTBACK = "postback", "postback"
    REFERRAL = "referral", "referral"
    DELETED = "deleted", "deleted message"
    UNKNOWN = "unknown", "unknown shape"


class ActivityStatus(models.TextChoices):
    PENDING = "pending", "pending"
    REPORTED = "reported", "reported"
    # No member has the author's handle yet; re-matched when one registers it.
    UNMATCHED = "unmatched", "unmatched"
    IGNORED = "ignored", "ignored"
    # Could not be resolved (no profile consent, unknown sender, ...): see error.
    FAILED = "failed", "failed"


class Activity(models.Model):
    """One normalized thing someone did on a platform, deduplicated by source id."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    connection = models.ForeignKey(
        "integrations.BrandConnection", null=True, blank=True, on_delete=models.SET_NULL
    )
    delivery = models.ForeignKey(
        "integrations.WebhookDelivery", null=True, blank=True, on_delete=models.SET_NULL
    )
    member = models.ForeignKey(
        "loyalty.Member", null=True, blank=True, on_delete=models.SET_NULL
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=24, choices=ActivityKind.choices)
    # The provider's id for the thing itself: a message id, a media id, ...
    source_id = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.PENDING
    )
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    # The author as the provider names them: an IGSID for DMs, and the normalized
    # username once known (the key for re-matching unmatched activity).
    sender_id = models.CharField(max_length=64, blank=True)
    username = models.CharField(max_length=64, blank=True, db_index=True)
    occurred_at = models.DateTimeField()
    seen_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The event this activity queued; its ``sent_at`` is when the Loyalty Engine
    # accepted it, the last of the three times the latency report compares.
    event = models.ForeignKey(
        "loyalty.LoyaltyEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attempts = models.PositiveIntegerField(default=0)
    # The provider's item exactly as received, beside what we made of it.
    raw = models.JSONField(default=dict)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "platform", "kind", "source_id"],
                name="activity_unique_source",
            ),
        ]
        indexes = [
            # Re-matching looks up a tenant's unmatched activity by username.
            models.Index(
                fields=["tenant", "status", "username"], name="activity_match_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source_id} ({self.status})"
