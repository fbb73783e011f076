"""A brand's Graph API budget: the latest usage headers, slowing down and backing off.

Every Graph response may carry ``X-App-Usage`` and ``X-Business-Use-Case-Usage``
(percent of each limit). The latest values are kept on the connection so every
worker sees them; above ``SLOW_DOWN_PERCENT`` the tag scanner runs less often,
and a throttling error pauses all of the brand's Graph calls until Meta's
``estimated_time_to_regain_access``.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from integrations.meta.graph import GraphError
from integrations.models import BrandConnection

logger = logging.getLogger(__name__)

SLOW_DOWN_PERCENT = 80
# INFERENCE: Meta gives no wait with some throttling errors (no header, or a
# zero estimate); a few minutes is what its rate-limiting guide suggests.
DEFAULT_BACKOFF = timedelta(minutes=5)
_PERCENT_KEYS = ("call_count", "total_cputime", "total_time")


def usage_percent(usage: dict[str, Any]) -> int:
    """The highest percent in the stored headers: the limit closest to biting."""
    values = [
        _as_int(block.get(key))
        for block in _usage_blocks(usage)
        for key in _PERCENT_KEYS
    ]
    return max([value for value in values if value is not None], default=0)


def regain_minutes(usage: dict[str, Any]) -> int:
    """Meta's estimate (minutes) of when a throttled account may call again."""
    values = [
        _as_int(block.get("estimated_time_to_regain_access"))
        for block in _usage_blocks(usage)
    ]
    return max([value for value in values if value is not None], default=0)


def record_usage(connection: BrandConnection, usage: dict[str, Any]) -> None:
    # Headers appear only after enough calls: an empty value says nothing.
    if not usage:
        return
    now = timezone.now()
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_usage=usage, graph_usage_at=now
    )
    connection.graph_usage, connection.graph_usage_at = usage, now


def back_off(
    connection: BrandConnection, error: GraphError, usage: dict[str, Any]
) -> datetime:
    """Pause the brand's Graph calls after a throttling error; returns until when."""
    minutes = regain_minutes(usage)
    wait = timedelta(minutes=minutes) if minutes > 0 else DEFAULT_BACKOFF
    until = timezone.now() + wait
    BrandConnection.objects.filter(pk=connection.pk).update(graph_paused_until=until)
    connection.graph_paused_until = until
    logger.warning(
        "Graph API throttled (code %s); pausing until %s",
        error.code,
        until.isoformat(),
        extra={"connection": connection.pk, "fbtrace_id": error.fbtrace_id},
    )
    return until


def is_paused(connection: BrandConnection) -> bool:
    until = connection.graph_paused_until
    return until is not None and until > timezone.now()


def is_busy(connection: BrandConnection) -> bool:
    paused, seen = connection.graph_paused_until, connection.graph_usage_at
    if paused is not None and (seen is None or seen <= paused):
        # The usage was read before the pause ended; waiting it out was the
        # answer to it, and the next reply brings fresh headers.
        return False
    return usage_percent(connection.graph_usage) >= SLOW_DOWN_PERCENT


def describe(connection: BrandConnection) -> str:
    """One line for the admin: paused, slowing down, or the current usage."""
    if is_paused(connection):
        assert connection.graph_paused_until is not None
        return f"throttled until {connection.graph_paused_until:%Y-%m-%d %H:%M} UTC"
    if not connection.graph_usage:
        return "no usage reported yet"
    percent = usage_percent(connection.graph_usage)
    suffix = " (scanning slowed down)" if is_busy(connection) else ""
    return f"{percent}% of the limit{suffix}"


def _usage_blocks(usage: dict[str, Any]) -> list[dict[str, Any]]:
    # X-App-Usage is one object; the business use case header maps each
    # business object id to a list of objects, one per use case type.
    blocks: list[dict[str, Any]] = []
    app = usage.get("app")
    if isinstance(app, dict):
        blocks.append(app)
    buc = usage.get("business_use_case")
    if isinstance(buc, dict):
        for entries in buc.values():
            if isinstance(entries, list):
                blocks.extend(entry for entry in entries if isinstance(entry, dict))
    return blocks


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
