"""How long activity takes to reach the Loyalty Engine, per tenant.

Each activity keeps when it happened (the media or message time), when we saw
it, and (through its event) when the Loyalty Engine accepted the event. The
admin shows the median and 95th percentile of both gaps over the last week.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from integrations.models import Activity

WINDOW = timedelta(days=7)


@dataclass
class Latency:
    count: int
    # Seconds from the activity happening to its event being accepted.
    happened_median: float
    happened_p95: float
    # Seconds from our first sight of the activity to its event being accepted.
    seen_median: float
    seen_p95: float

    def __str__(self) -> str:
        if not self.count:
            return "no accepted events in the last 7 days"
        return (
            f"happened → accepted: median {_human(self.happened_median)}, "
            f"p95 {_human(self.happened_p95)}; seen → accepted: median "
            f"{_human(self.seen_median)}, p95 {_human(self.seen_p95)} "
            f"({self.count} events, last 7 days)"
        )


def for_tenant(tenant_id: int) -> Latency:
    # Limitation: the percentiles are computed in Python over the week's rows;
    # fine for thousands of events a week, not for millions.
    queried = Activity.objects.filter(
        tenant_id=tenant_id,
        event__sent_at__isnull=False,
        event__sent_at__gte=timezone.now() - WINDOW,
    ).values_list("occurred_at", "seen_at", "event__sent_at")
    rows = [(at, seen, sent) for at, seen, sent in queried if sent is not None]
    happened = sorted(max((sent - at).total_seconds(), 0) for at, _, sent in rows)
    seen = sorted(max((sent - at).total_seconds(), 0) for _, at, sent in rows)
    return Latency(
        count=len(happened),
        happened_median=percentile(happened, 50),
        happened_p95=percentile(happened, 95),
        seen_median=percentile(seen, 50),
        seen_p95=percentile(seen, 95),
    )


def percentile(ordered: list[float], percent: int) -> float:
    """Nearest-rank percentile of an ascending list; 0 for an empty one."""
    if not ordered:
        return 0.0
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
