"""What a scan reads, and which of the two plans reads it cheaper.

The source indexes posts up to 48 hours late, and its queries select whole UTC
days. So each day is read at fixed points after it starts
(``TIKTOK_READ_HOURS``, by default 24 h: the day is over, and 72 h: the lag has
passed too); a scan reads the days whose next point has come, and a day read at
its last point is settled. Re-reads cost quota but never report twice (the
activity's unique source id). A tenant whose two reads a day would cost more
than its share of the quota skips the early read.

Plans, per range of days:
- usernames: ``ceil(members / username_batch)`` requests (members' tagged posts
  are few, so one page per batch);
- hashtags: ``ceil(expected posts / page_size)`` requests, at least one, with
  the expected posts taken from what the last full reads counted.
"""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Avg

from integrations.models import ScanPlan, TikTokDayRead
from integrations.tiktok.sources import Source
from loyalty.models import HandleStatus, Member, Tenant, TikTokAccountStatus

# How many recent days' counts the hashtag estimate averages.
ESTIMATE_DAYS = 14
# One tenant's day of scanning should cost at most this share of the source's
# daily requests, and its video queries this much of that: the rest is left
# for profile reads, retried pages and restarted queries.
TENANT_DAILY_SHARE = 0.25
QUERY_SHARE = 0.75


@dataclass(frozen=True)
class Choice:
    plan: ScanPlan
    units: list[dict]
    estimated_requests: int
    members: int
    daily_posts: int


def scannable_members(tenant: Tenant):  # type: ignore[no-untyped-def]
    """Members with a valid handle whose account is not known private/missing."""
    return Member.objects.filter(
        tenant=tenant,
        tiktok_handle_status=HandleStatus.VALID,
        tiktok_account_status__in=[
            TikTokAccountStatus.UNKNOWN,
            TikTokAccountStatus.PUBLIC,
        ],
    )


def due_days(
    tenant: Tenant, now: datetime, early_reads: bool = True, today_so_far: bool = False
) -> dict[date, int]:
    """Days with a read due, each with the number of reads due by ``now``.

    Without ``early_reads`` a day is due only once its last read point has come,
    and that one read settles it. With ``today_so_far`` the current day is read
    too, as far as the source has indexed it: that read counts as none of the
    day's points, so the day is still read at each of them.
    """
    lookback = math.ceil(max(settings.TIKTOK_READ_HOURS) / 24)
    today = now.astimezone(UTC).date()
    done = dict(
        TikTokDayRead.objects.filter(
            tenant=tenant, day__gte=today - timedelta(days=lookback)
        ).values_list("day", "reads")
    )
    due = {}
    for back in range(lookback, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time.min, UTC)
        reads = sum(
            start + timedelta(hours=h) <= now for h in settings.TIKTOK_READ_HOURS
        )
        final = reads == len(settings.TIKTOK_READ_HOURS)
        if reads > done.get(day, 0) and (early_reads or final):
            due[day] = reads
        elif back == 0 and today_so_far:
            due[day] = done.get(day, 0)
    return due


def early_reads_fit(members: int, posts_per_day: int, source: Source) -> bool:
    """Whether reading each day at every point fits the tenant's daily share.

    A busy tenant's day read twice can cost more than its share: it is then
    read once, when the source's indexing lag has passed. Its posts are reported
    later, but the quota holds.
    """
    return reads_fit(members, posts_per_day, source, len(settings.TIKTOK_READ_HOURS))


def reads_fit(
    members: int, posts_per_day: int, source: Source, reads_per_day: float
) -> bool:
    """Whether ``reads_per_day`` whole-day reads fit the tenant's daily share."""
    per_read = min(
        math.ceil(members / source.username_batch),
        max(1, math.ceil(posts_per_day / source.page_size)),
    )
    budget = source.requests_per_day * TENANT_DAILY_SHARE * QUERY_SHARE
    return per_read * reads_per_day <= budget


def ranges(days: dict[date, int]) -> list[dict]:
    """Consecutive due days grouped into one unit of work each."""
    units: list[dict] = []
    for day in sorted(days):
        last = units[-1] if units else None
        if last and date.fromisoformat(last["days"][-1]) + timedelta(days=1) == day:
            last["days"].append(day.isoformat())
        else:
            units.append({"days": [day.isoformat()]})
    for unit in units:
        unit.update(reads={d: days[date.fromisoformat(d)] for d in unit["days"]})
        unit.update(cursor=None, search_id=None, after="", last="", counts={})
    return units


def daily_posts(tenant: Tenant) -> int:
    recent = TikTokDayRead.objects.filter(
        tenant=tenant, hashtag_posts__isnull=False
    ).order_by("-day")[:ESTIMATE_DAYS]
    average = TikTokDayRead.objects.filter(
        pk__in=list(recent.values_list("pk", flat=True))
    ).aggregate(avg=Avg("hashtag_posts"))["avg"]
    return settings.TIKTOK_DEFAULT_DAILY_POSTS if average is None else round(average)


def username_cost(units: list[dict], members: int, source: Source) -> int:
    batches = math.ceil(members / source.username_batch)
    return len(units) * batches


def hashtag_cost(
    units: list[dict], posts_per_day: int, source: Source, now: datetime | None = None
) -> int:
    """Requests to read ``units`` by hashtag; the current day counts for the
    part of it that has passed."""
    return sum(
        max(1, math.ceil(posts_per_day * _days(unit, now) / source.page_size))
        for unit in units
    )


def _days(unit: dict, now: datetime | None) -> float:
    if now is None:
        return len(unit["days"])
    today = now.astimezone(UTC)
    elapsed = (today - datetime.combine(today.date(), time.min, UTC)) / timedelta(1)
    return sum(
        elapsed if date.fromisoformat(day) == today.date() else 1.0
        for day in unit["days"]
    )


def choose(tenant: Tenant, now: datetime, source: Source) -> Choice:
    members = scannable_members(tenant).count()
    posts = daily_posts(tenant)
    points = len(settings.TIKTOK_READ_HOURS)
    early = reads_fit(members, posts, source, points)
    # Reading the current day at every scan finds posts the source indexed
    # quickly, for tenants whose share allows it (the lag is "up to" 48 h).
    scans_per_day = 24 / max(1, tenant.tiktok_scan_hours)
    today = early and reads_fit(members, posts, source, points + scans_per_day)
    units = ranges(due_days(tenant, now, early_reads=early, today_so_far=today))
    by_usernames = username_cost(units, members, source)
    by_hashtags = hashtag_cost(units, posts, source, now)
    # Ties go to usernames: the same requests bring far fewer records.
    if by_usernames <= by_hashtags:
        return Choice(ScanPlan.USERNAMES, units, by_usernames, members, posts)
    return Choice(ScanPlan.HASHTAGS, units, by_hashtags, members, posts)
