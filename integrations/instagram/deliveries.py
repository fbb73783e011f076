"""Turning a stored Meta delivery into activities, one item at a time.

Every entry and every ``messaging``/``standby`` item is handled inside its own
savepoint: one malformed or surprising item is counted in the delivery's summary
and never stops its neighbours. Nothing here calls an API; reportable activities
are resolved by their own task once the delivery's transaction commits.
"""

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from integrations.instagram.normalize import MalformedItem, MessagingItem, classify
from integrations.meta import payloads
from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    BrandConnection,
    Platform,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

RESOLVE_ACTIVITY = "integrations.instagram.tasks.resolve_activity"

# Entry id Meta uses for the App Dashboard's "Test" button.
DASHBOARD_TEST_ENTRY_ID = "0"


def process(delivery: WebhookDelivery) -> dict[str, Any]:
    """Record every item of ``delivery``; returns the counts for its summary."""
    payload = payloads.storable(payloads.loads(bytes(delivery.body)))
    summary: Counter[str] = Counter()

    for entry in payload.get("entry") or []:
        try:
            with transaction.atomic():
                _process_entry(delivery, entry, summary)
        except Exception:
            logger.exception("Entry failed", extra={"delivery": delivery.pk})
            summary["entry_errors"] += 1

    return dict(summary)


def _process_entry(
    delivery: WebhookDelivery, entry: Any, summary: Counter[str]
) -> None:
    if not isinstance(entry, dict):
        summary["malformed_entries"] += 1
        return

    entry_id = str(entry.get("id", ""))
    items = _messaging_items(entry)
    if entry_id == DASHBOARD_TEST_ENTRY_ID:
        logger.info("Ignored a dashboard test event", extra={"delivery": delivery.pk})
        summary["ignored_test_events"] += max(1, len(items) + len(_changes(entry)))
        return

    connection = _connection_for(entry_id)
    if connection is None:
        logger.warning(
            "Delivery entry for an account we do not know",
            extra={"delivery": delivery.pk, "entry_id": entry_id},
        )
        summary["unknown_account_items"] += len(items) + len(_changes(entry))
        return

    for item in items:
        _record_item(delivery, connection, item, summary)
    for change in _changes(entry):
        _record_change(delivery, connection, entry, change, summary)


def _messaging_items(entry: dict[str, Any]) -> list[Any]:
    # ``standby`` carries the same items when another app owns the conversation.
    items: list[Any] = []
    for key in ("messaging", "standby"):
        value = entry.get(key)
        if isinstance(value, list):
            items.extend(value)
    return items


def _changes(entry: dict[str, Any]) -> list[Any]:
    value = entry.get("changes")
    return value if isinstance(value, list) else []


def _connection_for(entry_id: str) -> BrandConnection | None:
    # Instagram deliveries name the IG account; Page deliveries name the Page.
    if not entry_id:
        return None
    return (
        BrandConnection.objects.select_related("tenant")
        .filter(Q(ig_user_id=entry_id) | Q(page_id=entry_id))
        .first()
    )


def _record_item(
    delivery: WebhookDelivery,
    connection: BrandConnection,
    item: Any,
    summary: Counter[str],
) -> None:
    try:
        with transaction.atomic():
            normalized = classify(item, connection.ig_user_id)
            activity, created = _store(delivery, connection, normalized, item)
    except MalformedItem as error:
        logger.warning(
            "Malformed messaging item: %s", error, extra={"delivery": delivery.pk}
        )
        summary["malformed_items"] += 1
        return
    except Exception:
        logger.exception("Messaging item failed", extra={"delivery": delivery.pk})
        summary["item_errors"] += 1
        return

    if not created:
        summary["duplicates"] += 1
    elif normalized.is_reportable:
        summary[f"activities:{normalized.kind}"] += 1
        transaction.on_commit(lambda: async_task(RESOLVE_ACTIVITY, activity.pk))
    else:
        logger.info("Ignored %s", normalized.kind, extra={"delivery": delivery.pk})
        summary[f"ignored:{normalized.kind}"] += 1


def _record_change(
    delivery: WebhookDelivery,
    connection: BrandConnection,
    entry: dict[str, Any],
    change: Any,
    summary: Counter[str],
) -> None:
    field = change.get("field") if isinstance(change, dict) else None
    if field != "mentions":
        # Other content webhooks (comments, story insights) are not used: the
        # delivery keeps their bytes, the summary counts them.
        summary[f"skipped_changes:{field or 'unknown'}"] += 1
        return

    try:
        with transaction.atomic():
            activity, created = _store_mention(delivery, connection, entry, change)
    except MalformedItem as error:
        logger.warning("Malformed mention: %s", error, extra={"delivery": delivery.pk})
        summary["malformed_items"] += 1
        return
    except Exception:
        logger.exception("Mention failed", extra={"delivery": delivery.pk})
        summary["item_errors"] += 1
        return

    if not created:
        summary["duplicates"] += 1
        return
    summary[f"activities:{activity.kind}"] += 1
    transaction.on_commit(lambda: async_task(RESOLVE_ACTIVITY, activity.pk))


def _store_mention(
    delivery: WebhookDelivery,
    connection: BrandConnection,
    entry: dict[str, Any],
    change: dict[str, Any],
) -> tuple[Activity, bool]:
    """A caption mention names a media id; a comment mention adds a comment id."""
    value = change.get("value")
    if not isinstance(value, dict) or not value.get("media_id"):
        raise MalformedItem("a mentions change without a media_id")
    if value.get("comment_id"):
        kind, source_id = ActivityKind.COMMENT_MENTION, str(value["comment_id"])
    else:
        kind, source_id = ActivityKind.MENTION, str(value["media_id"])

    return Activity.objects.get_or_create(
        tenant=connection.tenant,
        platform=Platform.INSTAGRAM,
        kind=kind,
        source_id=source_id,
        defaults={
            "connection": connection,
            "delivery": delivery,
            "status": ActivityStatus.PENDING,
            # Replaced by the media's own time once it has been read.
            "occurred_at": _entry_time(entry),
            "raw": change,
            "details": {"media_id": str(value["media_id"])},
        },
    )


def _entry_time(entry: dict[str, Any]) -> datetime:
    # ``changes`` deliveries give ``time`` in seconds, messaging ones in
    # milliseconds: a value too large for seconds is taken as milliseconds.
    value = entry.get("time")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return timezone.now()
    try:
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        # A time beyond what a datetime holds says nothing usable: treated as
        # missing, like any other odd value, so the entry's items are kept.
        return timezone.now()


def _store(
    delivery: WebhookDelivery,
    connection: BrandConnection,
    item: MessagingItem,
    raw: dict[str, Any],
) -> tuple[Activity, bool]:
    status = ActivityStatus.PENDING if item.is_reportable else ActivityStatus.IGNORED
    return Activity.objects.get_or_create(
        tenant=connection.tenant,
        platform=Platform.INSTAGRAM,
        kind=item.kind,
        source_id=item.source_id,
        defaults={
            "connection": connection,
            "delivery": delivery,
            "status": status,
            "sender_id": item.sender_id,
            "occurred_at": item.occurred_at,
            "raw": raw,
            "details": item.details,
        },
    )
