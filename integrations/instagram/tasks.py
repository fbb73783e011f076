"""django-q2 entry points for Instagram webhook work."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from integrations.instagram import deliveries, discovery, mentions, messages, tags
from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    DeliveryStatus,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

# How long a delivery or activity may sit untouched before the sweeper assumes
# its task was lost (a crashed worker, a failed enqueue) and queues it again.
STALL_AFTER = timedelta(minutes=2)
MAX_DELIVERY_ATTEMPTS = 5
MAX_ACTIVITY_ATTEMPTS = 8

_RESOLVABLE = {ActivityStatus.PENDING, ActivityStatus.UNMATCHED, ActivityStatus.FAILED}
# Who resolves each kind of activity; other kinds are never reported.
_RESOLVERS: dict[str, Callable[[Activity], None]] = {
    ActivityKind.DM: messages.resolve,
    ActivityKind.STORY_MENTION: messages.resolve,
    ActivityKind.MENTION: mentions.resolve,
    ActivityKind.COMMENT_MENTION: mentions.resolve,
    ActivityKind.TAG: mentions.resolve,
}


def process_delivery(delivery_id: int) -> str:
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.RECEIVED
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return f"delivery {delivery_id}: nothing to do"

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    try:
        summary = deliveries.process(delivery)
    except Exception as error:
        logger.exception("Delivery failed", extra={"delivery": delivery_id})
        _give_up_if_exhausted(delivery, error)
        raise

    # Items that hit a bug are counted, not lost: the delivery is flagged so it
    # can be reprocessed from the admin once the bug is fixed.
    broken = summary.get("entry_errors", 0) + summary.get("item_errors", 0)
    delivery.status = DeliveryStatus.FAILED if broken else DeliveryStatus.PROCESSED
    delivery.summary = summary
    delivery.error = f"{broken} item(s) failed; see the logs." if broken else ""
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=["status", "summary", "error", "processed_at"])
    return f"delivery {delivery_id}: {summary}"


def resolve_activity(activity_id: int) -> str:
    activity = (
        Activity.objects.select_related("tenant", "connection")
        .filter(pk=activity_id, status__in=_RESOLVABLE)
        .first()
    )
    if activity is None:
        return f"activity {activity_id}: nothing to do"
    resolver = _RESOLVERS.get(activity.kind)
    if resolver is None:
        return f"activity {activity_id}: {activity.kind} is not resolvable"

    Activity.objects.filter(pk=activity_id).update(attempts=F("attempts") + 1)
    try:
        resolver(activity)
    except mentions.Paused as error:
        # Not a failed attempt: a throttle pause may last hours, and counting
        # each sweep against it would give the activity up before Meta allows a
        # single call. The sweeper leaves it alone until the pause ends.
        Activity.objects.filter(pk=activity_id).update(
            attempts=F("attempts") - 1, error=str(error)[:500]
        )
        logger.info("Activity waits for the brand's pause to end: %s", error)
        return f"activity {activity_id}: paused"
    except messages.RetryLater as error:
        # Left pending: the sweeper tries again once the provider recovers.
        Activity.objects.filter(pk=activity_id).update(error=str(error)[:500])
        logger.warning(
            "Activity will be retried: %s", error, extra={"activity": activity_id}
        )
        return f"activity {activity_id}: retry later"
    except Exception as error:
        logger.exception("Activity failed", extra={"activity": activity_id})
        reason = f"internal error: {type(error).__name__}"
        Activity.objects.filter(pk=activity_id).update(error=reason)
        return f"activity {activity_id}: {reason}"
    return f"activity {activity_id}: {activity.status}"


def refresh_activity_attributes(activity_id: int) -> str:
    """Finish the Business Discovery lookup a throttle put off for an activity."""
    activity = (
        Activity.objects.select_related("tenant", "connection", "member")
        .filter(pk=activity_id, status=ActivityStatus.REPORTED)
        .first()
    )
    if activity is None:
        return f"activity {activity_id}: nothing to do"
    return f"activity {activity_id}: {discovery.refresh_attributes(activity)}"


def scan_instagram_tags() -> str:
    """Scheduled (socialportal.schedules): one scan task per connected brand."""
    return tags.scan_all()


def scan_brand_tags(connection_id: int) -> str:
    return f"connection {connection_id}: {tags.scan(connection_id)}"


def resume_stalled() -> str:
    """Re-queue deliveries and activities whose task never finished, and
    attribute lookups a throttle put off, once their brand's pause is over."""
    now = timezone.now()
    cutoff = now - STALL_AFTER
    deliveries_due = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.RECEIVED,
            received_at__lt=cutoff,
            attempts__lt=MAX_DELIVERY_ATTEMPTS,
        ).values_list("pk", flat=True)[:500]
    )
    activities_due = list(
        Activity.objects.filter(
            status=ActivityStatus.PENDING,
            seen_at__lt=cutoff,
            attempts__lt=MAX_ACTIVITY_ATTEMPTS,
            kind__in=list(_RESOLVERS),
        )
        # Nothing can be read for a paused brand; its activities wait.
        .exclude(connection__graph_paused_until__gt=now)
        .values_list("pk", flat=True)[:500]
    )
    refreshes_due = list(
        Activity.objects.filter(
            status=ActivityStatus.REPORTED,
            details__has_key=discovery.DISCOVERY_PENDING,
        )
        .exclude(connection__graph_paused_until__gt=now)
        .values_list("pk", flat=True)[:500]
    )
    exhausted = Activity.objects.filter(
        status=ActivityStatus.PENDING,
        seen_at__lt=cutoff,
        attempts__gte=MAX_ACTIVITY_ATTEMPTS,
    ).update(status=ActivityStatus.FAILED)
    for pk in deliveries_due:
        async_task("integrations.instagram.tasks.process_delivery", pk)
    for pk in activities_due:
        async_task("integrations.instagram.tasks.resolve_activity", pk)
    for pk in refreshes_due:
        async_task("integrations.instagram.tasks.refresh_activity_attributes", pk)
    return (
        f"re-queued {len(deliveries_due)} deliveries, {len(activities_due)} "
        f"activities, {len(refreshes_due)} attribute lookups; "
        f"gave up on {exhausted}"
    )


def _give_up_if_exhausted(delivery: WebhookDelivery, error: Exception) -> None:
    delivery.refresh_from_db(fields=["attempts"])
    if delivery.attempts >= MAX_DELIVERY_ATTEMPTS:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED,
                error=f"{type(error).__name__}: {error}"[:2000],
            )
