"""Business Discovery through a one-hour cache shared by every worker.

Business Discovery counts against the app's platform limit, which every brand
shares, and a busy member can mention and tag several brands in an hour.
"""

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from integrations.instagram import attributes, ratelimits
from integrations.meta.graph import GraphClient, GraphError
from integrations.models import Activity, BrandConnection, DiscoveryCacheEntry
from loyalty import outbox

logger = logging.getLogger(__name__)

CACHE_FOR = timedelta(hours=1)
DRAIN_OUTBOX = "loyalty.tasks.drain_outbox"
# Key in ``Activity.details``: the author whose lookup a throttle put off, read
# again once the brand's pause is over (integrations.instagram.tasks).
DISCOVERY_PENDING = "discovery_pending"


def discover(
    client: GraphClient, connection: BrandConnection, username: str
) -> dict[str, Any] | None:
    """Bio and counts of a business or creator account; {} for anyone else.

    Answers (including "no such business account") are reused for an hour;
    errors are not cached, and never stop the caller: this is enrichment. None
    means "ask again later": the brand's Graph calls are paused, or this lookup
    was throttled (the pause is then recorded, as for any other Graph call).
    """
    key = username.casefold()
    fresh = DiscoveryCacheEntry.objects.filter(
        username=key, fetched_at__gte=timezone.now() - CACHE_FOR
    ).first()
    if fresh is not None:
        return fresh.answer if fresh.is_found else {}
    if ratelimits.is_paused(connection):
        return None

    try:
        answer = client.business_discovery(connection.ig_user_id, username)
    except GraphError as error:
        ratelimits.record_usage(connection, client.last_usage)
        if error.is_throttled:
            ratelimits.back_off(connection, error, client.last_usage)
            return None
        logger.warning(
            "Business Discovery failed (code %s)",
            error.code,
            extra={"connection": connection.pk, "fbtrace_id": error.fbtrace_id},
        )
        return {}
    ratelimits.record_usage(connection, client.last_usage)

    DiscoveryCacheEntry.objects.update_or_create(
        username=key,
        defaults={
            "is_found": answer is not None,
            "answer": answer or {},
            "fetched_at": timezone.now(),
        },
    )
    return answer or {}


def put_off(activity: Activity, username: str) -> None:
    """Remember on ``activity`` (saved by the caller) to look ``username`` up
    once the brand's pause is over; the activity is reported meanwhile."""
    activity.details = {**activity.details, DISCOVERY_PENDING: username}


def refresh_attributes(activity: Activity) -> str:
    """Finish a Business Discovery lookup a throttle put off; returns what it did."""
    username = activity.details.get(DISCOVERY_PENDING)
    connection = activity.connection
    if not isinstance(username, str) or activity.member is None:
        _forget_pending_discovery(activity.pk)
        return "nothing to refresh"
    if connection is None or not connection.is_connected:
        _forget_pending_discovery(activity.pk)
        return "the brand is not connected"

    found = discover(GraphClient(connection.page_token), connection, username)
    if found is None:
        return "still paused"
    member = activity.member
    with transaction.atomic():
        # Two sweeps may pick one activity: only the one that clears the mark
        # queues the attributes.
        if not _forget_pending_discovery(activity.pk):
            return "already refreshed"
        written = attributes.from_business_discovery(found)
        if written:
            outbox.queue_attributes(
                tenant=activity.tenant,
                member=member,
                attributes=written,
                reason=f"instagram {activity.kind} {activity.pk} (discovery)",
            )
            transaction.on_commit(lambda: async_task(DRAIN_OUTBOX))
    return f"refreshed {len(written)} attributes"


def _forget_pending_discovery(activity_id: int) -> bool:
    with transaction.atomic():
        locked = (
            Activity.objects.select_for_update()
            .filter(pk=activity_id, details__has_key=DISCOVERY_PENDING)
            .first()
        )
        if locked is None:
            return False
        locked.details = {
            key: value
            for key, value in locked.details.items()
            if key != DISCOVERY_PENDING
        }
        locked.save(update_fields=["details"])
    return True
