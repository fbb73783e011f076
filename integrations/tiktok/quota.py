"""The source's daily quota, counted in the database so every worker shares it.

Each request reserves one request and a page's worth of records with a
conditional UPDATE before it is sent, and gives back the records it did not
use: the counts can never pass the limits, even with several workers.
"""

import logging
from datetime import UTC, date

from django.db.models import F
from django.utils import timezone

from integrations.models import TikTokQuotaDay
from integrations.tiktok.sources import QuotaExhausted

logger = logging.getLogger(__name__)


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def reserve(
    source: str, records: int, *, requests_limit: int, records_limit: int
) -> None:
    """Take one request and ``records`` records from today's budget, or raise."""
    day = today()
    TikTokQuotaDay.objects.get_or_create(source=source, day=day)
    taken = TikTokQuotaDay.objects.filter(
        source=source,
        day=day,
        is_exhausted=False,
        requests__lt=requests_limit,
        records__lte=records_limit - records,
    ).update(
        requests=F("requests") + 1,
        records=F("records") + records,
        # .update() skips auto_now: the admin's "updated at" is set by hand.
        updated_at=timezone.now(),
    )
    if not taken:
        raise QuotaExhausted(f"{source}: today's quota is spent")


def give_back(source: str, records: int) -> None:
    """Return reserved records a response did not use."""
    if records > 0:
        TikTokQuotaDay.objects.filter(source=source, day=today()).update(
            records=F("records") - records, updated_at=timezone.now()
        )


def mark_exhausted(source: str) -> None:
    """The provider says the quota is spent (429), whatever our count says."""
    TikTokQuotaDay.objects.filter(source=source, day=today()).update(
        is_exhausted=True, updated_at=timezone.now()
    )
    logger.warning("TikTok source %s is rate limited until 00:00 UTC", source)


def remaining_requests(source: str, requests_limit: int) -> int:
    row = TikTokQuotaDay.objects.filter(source=source, day=today()).first()
    if row is None:
        return requests_limit
    return 0 if row.is_exhausted else max(0, requests_limit - row.requests)
