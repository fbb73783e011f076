"""Resolving a DM or story mention: who sent it, and what the tenant is owed.

The sender is only an Instagram-scoped id (IGSID). The User Profile API turns it
into a username (readable because the member messaged the brand), the member
index turns that into a loyalty member, and the outbox receives the events and
attributes, all in one transaction so a retry never reports twice.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from integrations.instagram import attributes, discovery
from integrations.instagram.keywords import first_keyword
from integrations.instagram.reporting import mark_reported
from integrations.meta import connections
from integrations.meta.graph import GraphClient, GraphError
from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    BrandConnection,
    DmKeyword,
)
from loyalty import outbox
from loyalty.handles import normalize_instagram
from loyalty.models import FollowStatus, HandleStatus, LoyaltyEvent, Member

logger = logging.getLogger(__name__)

DM_YOU = "DM_YOU_SOCIAL"
FOLLOWED_YOU = "FOLLOWED_YOU_SOCIAL"
MENTIONED_YOU = "MENTIONED_YOU_SOCIAL"
DRAIN_OUTBOX = "loyalty.tasks.drain_outbox"


class RetryLater(Exception):
    """The provider failed in a way worth trying again (throttled, unreachable)."""


def resolve(activity: Activity) -> None:
    connection = activity.connection
    if connection is None or not connection.is_connected:
        fail(activity, "connection", "The brand connection is not connected.")
        return

    client = GraphClient(connection.page_token)
    profile = _read_profile(client, activity, connection)
    if profile is None:
        return

    username, status = normalize_instagram(profile.get("username"))
    member = _find_member(activity, username) if status == HandleStatus.VALID else None
    if member is None:
        _leave_unmatched(activity, username, profile)
        return

    # Cached for an hour and throttle-aware; None: put off until a pause ends.
    found = discovery.discover(client, connection, profile["username"])
    with transaction.atomic():
        _report(activity, member, profile, found)
        # Send now rather than at the drain schedule's next tick.
        transaction.on_commit(lambda: async_task(DRAIN_OUTBOX))


def _read_profile(
    client: GraphClient, activity: Activity, connection: BrandConnection
) -> dict[str, Any] | None:
    try:
        return client.user_profile(activity.sender_id)
    except GraphError as error:
        _handle_profile_error(error, activity, connection)
        return None


def _handle_profile_error(
    error: GraphError, activity: Activity, connection: BrandConnection
) -> None:
    code = str(error.code or "")
    if error.is_consent_error:
        fail(activity, code, "No consent to read this sender's profile (Graph 230).")
    elif connections.is_reconnect_error(error):
        mark_needs_reconnect(connection, error)
        fail(activity, code, "The brand's token was refused; reconnect the brand.")
    elif error.is_throttled or error.is_transient or error.code is None:
        raise RetryLater(f"Graph API unavailable ({error.code}): {error.message}")
    else:
        fail(activity, code, f"Unknown sender: {error.message}")


def _find_member(activity: Activity, username: str) -> Member | None:
    """By IGSID first (it survives username changes), else by handle."""
    members = Member.objects.filter(tenant=activity.tenant)
    member = members.filter(igsid=activity.sender_id).first()
    if member is not None:
        return member

    candidates = list(members.filter(instagram_handle=username)[:2])
    if len(candidates) != 1:
        # Limitation: two members claiming one handle cannot be told apart; the
        # activity waits unmatched until one of them changes theirs.
        return None
    member = candidates[0]
    if member.igsid and member.igsid != activity.sender_id:
        # The handle belongs to a member already linked to another Instagram
        # account; rewarding this sender would pay the wrong person.
        return None
    return member


def _leave_unmatched(
    activity: Activity, username: str, profile: dict[str, Any]
) -> None:
    activity.status = ActivityStatus.UNMATCHED
    activity.username = username
    activity.error = "" if username else "The sender's profile has no usable username."
    activity.details = {**activity.details, "profile": profile}
    activity.save(update_fields=["status", "username", "error", "details"])
    logger.info("Activity unmatched", extra={"activity": activity.pk})


def _report(
    activity: Activity,
    member: Member,
    profile: dict[str, Any],
    found: dict[str, Any] | None,
) -> None:
    is_dm = activity.kind == ActivityKind.DM
    _link(member, activity, profile)
    activity.event = _queue_activity_event(activity, member)
    if is_dm:
        # Follows are inferred on DMs only; a story mention also arrives through
        # the inbox but is a mention, not a message to the brand.
        _infer_follow(activity, member, profile)

    written = attributes.from_profile(profile, with_follow=is_dm)
    if found is None:
        discovery.put_off(activity, profile["username"])
    else:
        written |= attributes.from_business_discovery(found)
    keyword = _claim_keyword(activity, member)
    if keyword:
        written["dm_keyword"] = keyword
    mark_reported(
        activity,
        member,
        written,
        profile.get("username") or "",
        also=("event", "details"),
    )


def _link(member: Member, activity: Activity, profile: dict[str, Any]) -> None:
    now = timezone.now()
    member.igsid = activity.sender_id
    member.linked_at = member.linked_at or now
    member.last_profile = profile
    member.last_profile_at = now
    member.save(update_fields=["igsid", "linked_at", "last_profile", "last_profile_at"])


def _queue_activity_event(activity: Activity, member: Member) -> LoyaltyEvent | None:
    if activity.kind == ActivityKind.STORY_MENTION:
        event_type = MENTIONED_YOU
        payload = {
            "caption": "",
            "platform": "instagram",
            "media_url": activity.details.get("media_url", ""),
            "mention_type": "mention",
            "media_type": "story",
        }
    else:
        event_type = DM_YOU
        payload = {"platform": "instagram", "message": activity.details.get("text", "")}

    dedupe_key = f"instagram:{activity.kind}:{activity.source_id}:{event_type}"
    outbox.queue_event(
        tenant=activity.tenant,
        member=member,
        type=event_type,
        payload=payload,
        occurred_at=activity.occurred_at,
        dedupe_key=dedupe_key,
    )
    # The row queued now or by an earlier attempt: the latency report needs it.
    return LoyaltyEvent.objects.filter(
        tenant=activity.tenant, dedupe_key=dedupe_key
    ).first()


def _infer_follow(activity: Activity, member: Member, profile: dict[str, Any]) -> None:
    """Instagram reports no follows; a DM's profile snapshot is how we learn them.

    The status flips with a conditional UPDATE, so of two DMs resolved at once
    only one sees the change and reports it.
    """
    follows = profile.get("is_user_follow_business")
    if not isinstance(follows, bool):
        return

    target = FollowStatus.FOLLOWING if follows else FollowStatus.NOT_FOLLOWING
    flipped = (
        Member.objects.filter(pk=member.pk)
        .exclude(follow_status=target)
        .update(follow_status=target)
    )
    member.follow_status = target
    if flipped and follows:
        outbox.queue_event(
            tenant=activity.tenant,
            member=member,
            type=FOLLOWED_YOU,
            payload={"platform": "instagram"},
            occurred_at=activity.occurred_at,
            dedupe_key=f"instagram:{activity.kind}:{activity.source_id}:{FOLLOWED_YOU}",
        )


def _claim_keyword(activity: Activity, member: Member) -> str | None:
    """The member's first keyword, set once and never overwritten."""
    if activity.kind != ActivityKind.DM or member.dm_keyword:
        return None
    keywords = DmKeyword.objects.filter(tenant=activity.tenant).values_list(
        "keyword", flat=True
    )
    keyword = first_keyword(activity.details.get("text", ""), keywords)
    if keyword is None:
        return None
    claimed = Member.objects.filter(pk=member.pk, dm_keyword="").update(
        dm_keyword=keyword
    )
    if not claimed:
        return None
    member.dm_keyword = keyword
    return keyword


def fail(activity: Activity, code: str, reason: str) -> None:
    activity.status = ActivityStatus.FAILED
    activity.error_code = code
    activity.error = reason
    activity.save(update_fields=["status", "error_code", "error"])
    logger.warning(
        "Activity failed: %s", reason, extra={"activity": activity.pk, "code": code}
    )


def mark_needs_reconnect(connection: BrandConnection, error: GraphError) -> None:
    # The same rule and words as the daily connection check.
    connections.mark_needs_reconnect(connection, connections.graph_reason(error))
