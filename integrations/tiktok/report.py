"""Turning a matched video into an activity, an event and attributes.

The activity's unique (tenant, platform, kind, source id) makes each video
reported once however often the scanner reads it; the event and attribute
writes are queued in the same transaction, and the outbox drained after it.
"""

import logging
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from integrations.meta.payloads import storable
from integrations.models import Activity, ActivityKind, ActivityStatus, Platform
from integrations.tiktok.sources import (
    AccountNotFound,
    Profile,
    QuotaExhausted,
    RateLimited,
    Source,
    SourceUnavailable,
    Video,
)
from loyalty import outbox
from loyalty.models import Member, Tenant, TikTokAccountStatus

logger = logging.getLogger(__name__)

MENTIONED_YOU = "MENTIONED_YOU_SOCIAL"
DRAIN_OUTBOX = "loyalty.tasks.drain_outbox"
PRIVATE_ACCOUNT = "private_account"

# What ``report`` did with a video.
REPORTED, DUPLICATE, PRIVATE = "reported", "duplicate", "private"


def already_reported(tenant: Tenant, video_ids: list[str]) -> set[str]:
    return set(
        Activity.objects.filter(
            tenant=tenant,
            platform=Platform.TIKTOK,
            kind=ActivityKind.HASHTAG_POST,
            source_id__in=video_ids,
        ).values_list("source_id", flat=True)
    )


def report(
    tenant: Tenant,
    member: Member,
    video: Video,
    tags: list[str],
    source: Source,
    profiles: dict[int, Profile | None],
) -> str:
    """Report ``video``: REPORTED, DUPLICATE if another run recorded it first,
    or PRIVATE if the member's account is private (recorded, not reported).

    ``profiles`` caches profile reads for one scan run: a member's ten posts
    cost one read.
    """
    if member.pk not in profiles:
        profiles[member.pk] = fetch_profile(member, source)
    profile = profiles[member.pk]
    if profile is not None and profile.is_private:
        return PRIVATE if _ignore_private(tenant, member, video, tags) else DUPLICATE
    attributes = _attributes(member, profile)
    with transaction.atomic():
        try:
            with transaction.atomic():
                activity = _record(tenant, member, video, tags)
        except IntegrityError:
            return DUPLICATE
        outbox.queue_event(
            tenant=tenant,
            member=member,
            type=MENTIONED_YOU,
            payload=_payload(video),
            occurred_at=activity.occurred_at,
            dedupe_key=f"tiktok:{ActivityKind.HASHTAG_POST}:{video.id}",
        )
        outbox.queue_attributes(
            tenant=tenant,
            member=member,
            attributes=attributes,
            reason=f"tiktok hashtag post {activity.pk}",
        )
        transaction.on_commit(lambda: async_task(DRAIN_OUTBOX))
    return REPORTED


def _ignore_private(tenant: Tenant, member: Member, video: Video, tags: list) -> bool:
    """Only public accounts take part (the programme's rule): the post is kept as
    ignored, with the reason, and neither it nor the attributes are sent."""
    logger.info(
        "TikTok post by a private account ignored",
        extra={"tenant": tenant.slug, "member": member.pk},
    )
    try:
        with transaction.atomic():
            _record(
                tenant,
                member,
                video,
                tags,
                status=ActivityStatus.IGNORED,
                error_code=PRIVATE_ACCOUNT,
                error="The member's TikTok account is private.",
            )
    except IntegrityError:
        return False
    return True


def fetch_profile(member: Member, source: Source) -> Profile | None:
    """The member's profile, recording what it says about the account.

    None when it could not be read; the post is still reported.
    """
    try:
        return read_profile(member, source)
    except AccountNotFound:
        return None
    except (QuotaExhausted, RateLimited, SourceUnavailable) as error:
        logger.info(
            "TikTok profile not read: %s", error.kind, extra={"member": member.pk}
        )
        return None


def read_profile(member: Member, source: Source) -> Profile:
    """The member's profile, recording on the member whether the account is
    public, private or missing; the source's failures are raised."""
    try:
        profile = source.profile(member.tiktok_handle)
    except AccountNotFound:
        _set_account(member, TikTokAccountStatus.NOT_FOUND)
        raise
    status = (
        TikTokAccountStatus.PRIVATE
        if profile.is_private
        else TikTokAccountStatus.PUBLIC
    )
    _set_account(member, status)
    return profile


def mark_unreadable(member: Member) -> None:
    """The profile could not be read: keep what is known of the account, but
    note the attempt so the account checks move on and come back later."""
    now = timezone.now()
    Member.objects.filter(pk=member.pk, tiktok_handle=member.tiktok_handle).update(
        tiktok_checked_at=now
    )
    member.tiktok_checked_at = now


def _set_account(member: Member, status: TikTokAccountStatus) -> None:
    now = timezone.now()
    Member.objects.filter(pk=member.pk, tiktok_handle=member.tiktok_handle).update(
        tiktok_account_status=status, tiktok_checked_at=now
    )
    member.tiktok_account_status, member.tiktok_checked_at = status, now


def _record(
    tenant: Tenant,
    member: Member,
    video: Video,
    tags: list[str],
    status: ActivityStatus = ActivityStatus.REPORTED,
    error_code: str = "",
    error: str = "",
) -> Activity:
    return Activity.objects.create(
        tenant=tenant,
        member=member,
        platform=Platform.TIKTOK,
        kind=ActivityKind.HASHTAG_POST,
        source_id=video.id,
        status=status,
        error=error,
        error_code=error_code,
        username=member.tiktok_handle,
        occurred_at=datetime.fromtimestamp(video.create_time, UTC),
        resolved_at=timezone.now(),
        # The raw item as TikTok sent it, except NULs (seen in usernames),
        # which PostgreSQL's jsonb refuses: shown as U+FFFD.
        raw=storable(_json_safe(video.raw)),
        details={"hashtags": tags, "caption": video.caption},
    )


def _payload(video: Video) -> dict:
    return {
        "caption": video.caption,
        "like_count": video.like_count,
        "comments_count": video.comment_count,
        "platform": "tiktok",
        "mention_type": "hashtag",
        "media_type": "tiktok video",
    }


def _attributes(member: Member, profile: Profile | None) -> dict:
    attributes: dict = {"tiktok_handle": member.tiktok_handle}
    if profile is None:
        return attributes
    if profile.following_count is not None:
        attributes["tiktok_follows"] = profile.following_count
    if profile.follower_count is not None:
        attributes["tiktok_followers"] = profile.follower_count
    attributes["tiktok_bio"] = profile.bio
    attributes["tiktok_profile_image"] = profile.avatar_url
    return attributes


def _json_safe(raw: dict) -> dict:
    # Stored as JSON: a 64-bit id would lose digits in any reader that parses
    # numbers as doubles, so the raw copy keeps it as text.
    return {
        key: str(value) if key in ("id", "video_id") else value
        for key, value in raw.items()
    }
