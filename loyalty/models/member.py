"""The member index: which loyalty member owns which social handle or IGSID."""

from django.db import models


class HandleStatus(models.TextChoices):
    MISSING = "missing", "missing"
    VALID = "valid", "valid"
    INVALID = "invalid", "invalid"


class TikTokAccountStatus(models.TextChoices):
    """What TikTok last said about the member's account; only ``unknown`` and
    ``public`` accounts are scanned."""

    UNKNOWN = "unknown", "not checked yet"
    PUBLIC = "public", "public"
    PRIVATE = "private", "private"
    NOT_FOUND = "not_found", "no such account"


class FollowStatus(models.TextChoices):
    """Whether the member follows the brand, as last seen on a DM."""

    UNKNOWN = "unknown", "unknown"
    FOLLOWING = "true", "following"
    NOT_FOLLOWING = "false", "not following"


class Member(models.Model):
    """The tenant's member index: who a social handle or IGSID belongs to.

    Filled from WLL (``sync_members`` and WLL's webhook); WLL has no lookup by
    profile attribute, so matching social activity to a member happens here.
    """

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    wll_user_id = models.CharField("WLL user id", max_length=128)
    auth_identifier = models.CharField(max_length=512, blank=True)
    # What the member typed (``instagramHandle``), and our normalized form of it.
    instagram_handle_raw = models.CharField(max_length=512, blank=True)
    instagram_handle = models.CharField(max_length=30, blank=True, db_index=True)
    instagram_handle_status = models.CharField(
        max_length=10, choices=HandleStatus.choices, default=HandleStatus.MISSING
    )
    tiktok_handle_raw = models.CharField(max_length=512, blank=True)
    tiktok_handle = models.CharField(max_length=24, blank=True, db_index=True)
    tiktok_handle_status = models.CharField(
        max_length=10, choices=HandleStatus.choices, default=HandleStatus.MISSING
    )
    # Reset to unknown whenever the handle changes (loyalty/members.py); a
    # private or missing account is skipped until it is checked again.
    tiktok_account_status = models.CharField(
        "TikTok account",
        max_length=10,
        choices=TikTokAccountStatus.choices,
        default=TikTokAccountStatus.UNKNOWN,
    )
    tiktok_checked_at = models.DateTimeField(null=True, blank=True)
    # Instagram-scoped id, learned on the member's first DM. Usernames change;
    # this does not, so later DMs are matched on it first.
    igsid = models.CharField("IGSID", max_length=64, null=True, blank=True)
    follow_status = models.CharField(
        max_length=8, choices=FollowStatus.choices, default=FollowStatus.UNKNOWN
    )
    dm_keyword = models.CharField(
        "DM keyword",
        max_length=100,
        blank=True,
        help_text="Set once, never overwritten.",
    )
    linked_at = models.DateTimeField(null=True, blank=True)
    last_profile = models.JSONField(null=True, blank=True)
    last_profile_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "wll_user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "wll_user_id"], name="member_unique_wll_user"
            ),
            models.UniqueConstraint(
                fields=["tenant", "igsid"],
                condition=models.Q(igsid__isnull=False),
                name="member_unique_igsid",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "auth_identifier"], name="member_auth_idx"),
            # The TikTok scanner walks a tenant's scannable handles in order.
            models.Index(
                fields=["tenant", "tiktok_handle_status", "tiktok_handle"],
                name="member_tiktok_idx",
            ),
        ]

    def __str__(self) -> str:
        handle = self.instagram_handle or self.tiktok_handle or "no handle"
        return f"{self.wll_user_id} ({handle})"
