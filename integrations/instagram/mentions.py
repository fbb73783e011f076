"""Resolving caption mentions, comment mentions and tags into loyalty events.

A mention arrives as a bare media or comment id and is read back through the
brand's account; a tag arrives with its media already read by the scanner. The
media's author (a username: mentions and tags carry no IGSID) finds the member,
and the event, the attributes and the activity's new state are written in one
transaction so a retry never reports twice.

Business Discovery is enrichment: when it is throttled the event is reported at
once and the lookup is kept on the activity (``DISCOVERY_PENDING``) for the
sweeper to finish after the pause, so neither the points nor the attributes wait
on, or are lost to, a throttle.
"""

import logging
from typing import Any

from django.db import transaction
from django_q.tasks import async_task

from integrations.instagram import attributes, discovery, ratelimits
from integrations.instagram.media import event_payload, parse_time
from integrations.instagram.messages import (
    DRAIN_OUTBOX,
    MENTIONED_YOU,
    RetryLater,
    fail,
    mark_needs_reconnect,
)
from integrations.instagram.reporting import mark_reported
from integrations.meta.graph import GraphClient, GraphError
from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    BrandConnection,
)
from loyalty import outbox
from loyalty.handles import normalize_instagram
from loyalty.models import HandleStatus, LoyaltyEvent, Member

logger = logging.getLogger(__name__)

# The event's ``mention_type`` for each activity kind.
MENTION_TYPES: dict[str, str] = {
    ActivityKind.MENTION: "mention",
    ActivityKind.COMMENT_MENTION: "mention",
    ActivityKind.TAG: "tag",
}


class Paused(RetryLater):
    """The brand's Graph calls are paused: retrying before the pause ends is no
    failed attempt, so the caller does not count it."""


def resolve(activity: Activity) -> None:
    connection = activity.connection
    if connection is None or not connection.is_connected:
        fail(activity, "connection", "The brand connection is not connected.")
        return

    client = GraphClient(connection.page_token)
    media = _media(client, activity, connection)
    if media is None:
        return

    author = _author(activity)
    if not author:
        _leave_unattributed(activity)
        return
    username, status = normalize_instagram(author)
    member = _find_member(activity, username) if status == HandleStatus.VALID else None
    if member is None:
        _leave_unmatched(activity, username)
        return

    found = discovery.discover(client, connection, author)
    with transaction.atomic():
        _report(activity, member, media, author, found)
        transaction.on_commit(lambda: async_task(DRAIN_OUTBOX))


def _media(
    client: GraphClient, activity: Activity, connection: BrandConnection
) -> dict[str, Any] | None:
    """The media (for a comment: the comment), read once and kept in details."""
    key = "comment" if activity.kind == ActivityKind.COMMENT_MENTION else "media"
    if isinstance(activity.details.get(key), dict):
        return activity.details[key]
    if activity.kind == ActivityKind.TAG:
        # The scanner stores each tag with its media; there is no edge to read
        # one tagged media back by id.
        fail(activity, "missing", "The tag was stored without its media.")
        return None
    # Only a lookup waits for the pause: a tag (or media read before) has what
    # the event needs, and its Business Discovery is put off instead.
    if ratelimits.is_paused(connection):
        raise Paused("the brand's Graph API calls are paused (throttled)")

    try:
        answer = _lookup(client, activity, connection)
    except GraphError as error:
        ratelimits.record_usage(connection, client.last_usage)
        _handle_lookup_error(error, client, activity, connection)
        return None
    except ValueError:
        fail(activity, "malformed", "The webhook named a malformed media id.")
        return None
    ratelimits.record_usage(connection, client.last_usage)

    _remember(activity, key, answer)
    return answer


def _lookup(
    client: GraphClient, activity: Activity, connection: BrandConnection
) -> dict[str, Any]:
    if activity.kind == ActivityKind.COMMENT_MENTION:
        return client.mentioned_comment(connection.ig_user_id, activity.source_id)
    return client.mentioned_media(connection.ig_user_id, activity.source_id)


def _remember(activity: Activity, key: str, answer: dict[str, Any]) -> None:
    activity.details = {**activity.details, key: answer}
    media = answer.get("media") if key == "comment" else answer
    # The activity happened when the media (or comment) was posted, not when
    # Meta told us about it.
    happened = parse_time(answer.get("timestamp")) or parse_time(
        (media or {}).get("timestamp")
    )
    if happened is not None:
        activity.occurred_at = happened
    activity.save(update_fields=["details", "occurred_at"])


def _handle_lookup_error(
    error: GraphError,
    client: GraphClient,
    activity: Activity,
    connection: BrandConnection,
) -> None:
    code = str(error.code or "")
    if error.is_throttled:
        ratelimits.back_off(connection, error, client.last_usage)
        raise Paused(f"Graph API throttled ({error.code})")
    if error.is_token_error:
        mark_needs_reconnect(connection, error)
        fail(activity, code, "The brand's token was refused; reconnect the brand.")
    elif error.is_transient or error.code is None:
        raise RetryLater(f"Graph API unavailable ({error.code}): {error.message}")
    else:
        # Deleted media, a media gone private, comments turned off: Meta answers
        # these alike, and nothing will make the media readable again.
        fail(activity, code, f"The media is no longer readable: {error.message}")


def _author(activity: Activity) -> str:
    if activity.kind != ActivityKind.COMMENT_MENTION:
        media = activity.details.get("media") or {}
        return str(media.get("username") or "")
    # Meta documents no commenter field on mentioned_comment. INFERENCE: should
    # an author ever be present (``username`` or ``from``), it is used.
    comment = activity.details.get("comment") or {}
    sender = comment.get("from")
    sender = sender if isinstance(sender, dict) else {}
    return str(comment.get("username") or sender.get("username") or "")


def _find_member(activity: Activity, username: str) -> Member | None:
    candidates = list(
        Member.objects.filter(tenant=activity.tenant, instagram_handle=username)[:2]
    )
    # Limitation: two members claiming one handle cannot be told apart; the
    # activity waits unmatched until one of them changes theirs.
    return candidates[0] if len(candidates) == 1 else None


def _leave_unattributed(activity: Activity) -> None:
    activity.status = ActivityStatus.IGNORED
    activity.error = "Meta does not say who wrote this comment; nobody is rewarded."
    activity.save(update_fields=["status", "error"])
    logger.info("Comment mention without an author", extra={"activity": activity.pk})


def _leave_unmatched(activity: Activity, username: str) -> None:
    activity.status = ActivityStatus.UNMATCHED
    activity.username = username
    activity.error = "" if username else "The author's username is not usable."
    activity.save(update_fields=["status", "username", "error"])
    logger.info("Activity unmatched", extra={"activity": activity.pk})


def _report(
    activity: Activity,
    member: Member,
    media: dict[str, Any],
    author: str,
    found: dict[str, Any] | None,
) -> None:
    activity.event = _queue_event(activity, member)
    written: dict[str, Any] = {"instagram_handle": author}
    if found is None:
        discovery.put_off(activity, author)
    else:
        written |= attributes.from_business_discovery(found)
    # Named fields only: the task counted this attempt with an F() update that a
    # whole-row save would overwrite.
    mark_reported(activity, member, written, author, also=("event", "details"))


def _queue_event(activity: Activity, member: Member) -> LoyaltyEvent | None:
    mention_type = MENTION_TYPES[activity.kind]
    if activity.kind == ActivityKind.COMMENT_MENTION:
        comment = activity.details.get("comment") or {}
        media = comment.get("media")
        media = media if isinstance(media, dict) else {}
        # The comment's words are what mentioned the brand, not the caption.
        media = {**media, "caption": comment.get("text") or ""}
        dedupe_key = f"instagram:comment:{activity.source_id}:{MENTIONED_YOU}"
    else:
        media = activity.details.get("media") or {}
        # Keyed by media and mention type: a tag and a caption mention of one
        # media earn one event each, however often either is seen.
        dedupe_key = f"instagram:{mention_type}:{activity.source_id}:{MENTIONED_YOU}"

    outbox.queue_event(
        tenant=activity.tenant,
        member=member,
        type=MENTIONED_YOU,
        payload=event_payload(media, mention_type),
        occurred_at=activity.occurred_at,
        dedupe_key=dedupe_key,
    )
    return LoyaltyEvent.objects.filter(
        tenant=activity.tenant, dedupe_key=dedupe_key
    ).first()
