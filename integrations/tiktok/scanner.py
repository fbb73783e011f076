"""``scan``: one scan of a tenant's tracked hashtags on the configured source.

The scan's remaining work lives on its ``TikTokScan`` row and is saved after
every page, so a scan stopped by the quota (ours or the provider's 429), or by a
failing provider, is resumed by the next run instead of started over.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import (
    ScanPlan,
    ScanStatus,
    TikTokDayRead,
    TikTokScan,
    TrackedHashtag,
)
from integrations.tiktok import hashtags as tags
from integrations.tiktok import plans, report
from integrations.tiktok.sources import (
    Page,
    QuotaExhausted,
    RateLimited,
    SearchExpired,
    Source,
    SourceError,
    VideoQuery,
    get_source,
)
from loyalty.handles import normalize_tiktok
from loyalty.models import Member, Tenant, TikTokAccountStatus

logger = logging.getLogger(__name__)

# Restarts of one query after its search_id was refused, before giving up
# until the next run.
MAX_RESTARTS = 3
# "has_more" with an empty page happens; after this many in a row the query
# is taken as finished.
MAX_EMPTY_PAGES = 3
# A running scan not saved for this long belongs to a dead worker.
STALE_CLAIM = timedelta(minutes=30)
RECHECK_AFTER = timedelta(days=30)


@dataclass
class ScanOutcome:
    tenant: str
    scan: TikTokScan | None
    message: str

    def __str__(self) -> str:
        return f"{self.tenant}: {self.message}"


def scan(tenant: Tenant, source: Source | None = None) -> ScanOutcome:
    hashtags = list(
        TrackedHashtag.objects.filter(tenant=tenant).values_list("hashtag", flat=True)
    )
    if not hashtags:
        return ScanOutcome(tenant.slug, None, "no tracked hashtags")
    owned = source is None
    source = source or get_source()
    try:
        row = _claim(tenant, source)
        if row is None:
            return ScanOutcome(tenant.slug, None, "another scan is running")
        _run(row, hashtags, source)
        if row.status == ScanStatus.DONE:
            _check_handles(tenant, source, row)
        return ScanOutcome(tenant.slug, row, _describe(row))
    finally:
        if owned:
            source.close()


# -- claiming ----------------------------------------------------------------


def _claim(tenant: Tenant, source: Source) -> TikTokScan | None:
    now = timezone.now()
    open_scan = TikTokScan.objects.filter(
        tenant=tenant, status__in=[ScanStatus.RUNNING, ScanStatus.PAUSED]
    ).first()
    if open_scan is not None:
        claimed = (
            TikTokScan.objects.filter(pk=open_scan.pk)
            .filter(_resumable(now))
            .update(status=ScanStatus.RUNNING, claimed_at=now)
        )
        if not claimed:
            return None
        open_scan.refresh_from_db()
        logger.info("Resuming TikTok scan", extra={"tenant": tenant.slug})
        return open_scan
    return _start(tenant, source, now)


def _resumable(now: datetime):  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(status=ScanStatus.PAUSED) | Q(
        status=ScanStatus.RUNNING, claimed_at__lt=now - STALE_CLAIM
    )


def _start(tenant: Tenant, source: Source, now: datetime) -> TikTokScan | None:
    choice = plans.choose(tenant, now, source)
    try:
        with transaction.atomic():
            return TikTokScan.objects.create(
                tenant=tenant,
                source=source.name,
                plan=choice.plan,
                units=choice.units,
                estimated_requests=choice.estimated_requests,
                counters={"members": choice.members, "daily_posts": choice.daily_posts},
                claimed_at=now,
            )
    except IntegrityError:  # another worker opened one first
        return None


# -- running -----------------------------------------------------------------


def _run(row: TikTokScan, hashtags: list[str], source: Source) -> None:
    before = dict(source.stats)
    row.profiles = {}  # type: ignore[attr-defined]  # this run's profile reads
    while row.units:
        unit = row.units[0]
        try:
            finished = _step(row, unit, hashtags, source)
        except SearchExpired as error:
            finished = _restart(row, unit, error)
        except SourceError as error:
            _pause(row, error, source, before)
            return
        if finished:
            _close_unit(row, row.units.pop(0))
        _save(row, source, before)
    row.status = ScanStatus.DONE
    row.finished_at = timezone.now()
    _save(row, source, before)


def _step(row: TikTokScan, unit: dict, hashtags: list[str], source: Source) -> bool:
    """Read one page of ``unit``; True when the unit is finished."""
    usernames: tuple[str, ...] = ()
    if row.plan == ScanPlan.USERNAMES:
        usernames = _batch(row.tenant, unit, source)
        if not usernames:
            return True
    query = VideoQuery(
        start=date.fromisoformat(unit["days"][0]),
        end=date.fromisoformat(unit["days"][-1]),
        hashtags=tuple(hashtags),
        usernames=usernames,
    )
    page = source.query_videos(query, unit["cursor"], unit["search_id"])
    _take(row, unit, page, hashtags, source)
    return _advance(row, unit, page, usernames)


def _batch(tenant: Tenant, unit: dict, source: Source) -> tuple[str, ...]:
    handles = (
        plans.scannable_members(tenant)
        .filter(tiktok_handle__gt=unit["after"])
        .order_by("tiktok_handle")
        .values_list("tiktok_handle", flat=True)
        .distinct()[: source.username_batch]
    )
    return tuple(handles)


def _advance(row: TikTokScan, unit: dict, page: Page, usernames: tuple) -> bool:
    empty_more = page.has_more and not page.videos
    if empty_more:
        _count(row, "empty_pages")
        unit["empty"] = unit.get("empty", 0) + 1
        logger.warning("TikTok page empty but has_more", extra={"scan": row.pk})
    else:
        unit["empty"] = 0
    if page.has_more and unit["empty"] < MAX_EMPTY_PAGES:
        unit["cursor"], unit["search_id"] = page.cursor, page.search_id
        return False

    unit.update(cursor=None, search_id=None, empty=0)
    if row.plan == ScanPlan.USERNAMES:
        unit["after"] = usernames[-1]  # next batch; the unit ends on an empty one
        return False
    return True


def _take(
    row: TikTokScan, unit: dict, page: Page, hashtags: list[str], source: Source
) -> None:
    _count(row, "videos", len(page.videos))
    matched = [(v, tags.matching(v.caption, hashtags)) for v in page.videos]
    matched = [(video, found) for video, found in matched if found]
    _count(row, "not_matching", len(page.videos) - len(matched))
    for video, _ in matched:
        day = datetime.fromtimestamp(video.create_time, UTC).date().isoformat()
        unit["counts"][day] = unit["counts"].get(day, 0) + 1

    done = report.already_reported(row.tenant, [video.id for video, _ in matched])
    fresh = [(video, found) for video, found in matched if video.id not in done]
    members = _members(row.tenant, [video.username for video, _ in fresh])
    for video, found in fresh:
        member = members.get(normalize_tiktok(video.username)[0])
        if member is None:
            _count(row, "not_members")
        elif report.report(row.tenant, member, video, found, source, row.profiles):  # type: ignore[attr-defined]
            _count(row, "reported")


def _members(tenant: Tenant, usernames: list[str]) -> dict[str, Member]:
    handles = {normalize_tiktok(name)[0] for name in usernames} - {""}
    found: dict[str, list[Member]] = {}
    for member in plans.scannable_members(tenant).filter(tiktok_handle__in=handles):
        found.setdefault(member.tiktok_handle, []).append(member)
    # Limitation: two members claiming one handle cannot be told apart; the
    # post is left unreported until one of them changes theirs.
    return {handle: pair[0] for handle, pair in found.items() if len(pair) == 1}


def _restart(row: TikTokScan, unit: dict, error: SearchExpired) -> bool:
    """Start the unit's current query over; reported videos are not reported again."""
    _count(row, "restarts")
    unit["restarts"] = unit.get("restarts", 0) + 1
    logger.warning(
        "TikTok search expired, restarting the query", extra={"scan": row.pk}
    )
    unit.update(cursor=None, search_id=None)
    if unit["restarts"] > MAX_RESTARTS:
        raise SearchExpired(f"search restarted {MAX_RESTARTS} times: {error}")
    return False


def _close_unit(row: TikTokScan, unit: dict) -> None:
    now = timezone.now()
    for day, reads in unit["reads"].items():
        read, _ = TikTokDayRead.objects.get_or_create(tenant=row.tenant, day=day)
        read.reads = max(read.reads, reads)
        read.last_read_at = now
        if row.plan == ScanPlan.HASHTAGS:
            read.hashtag_posts = unit["counts"].get(day, 0)
        read.save()


def _pause(row: TikTokScan, error: SourceError, source: Source, before: dict) -> None:
    row.status = ScanStatus.PAUSED
    row.note = f"paused ({error.kind}): {error}"[:500]
    _count(row, error.kind)
    _save(row, source, before)
    log = (
        logger.info
        if isinstance(error, QuotaExhausted | RateLimited)
        else logger.warning
    )
    log("TikTok scan paused: %s", error.kind, extra={"scan": row.pk})


def _save(row: TikTokScan, source: Source, before: dict) -> None:
    for key in ("requests", "records", "retries"):
        spent = source.stats.get(key, 0) - before.get(key, 0)
        row.counters[key] = row.counters.get(key, 0) + spent
    before.update(source.stats)
    row.claimed_at = timezone.now()
    row.save(
        update_fields=[
            "units",
            "counters",
            "status",
            "note",
            "claimed_at",
            "finished_at",
        ]
    )


def _count(row: TikTokScan, key: str, n: int = 1) -> None:
    row.counters[key] = row.counters.get(key, 0) + n


# -- account checks ----------------------------------------------------------


def _check_handles(tenant: Tenant, source: Source, row: TikTokScan) -> None:
    """Look up a few unchecked accounts, so private and missing ones are
    recorded and left out of later scans; rechecked after a month."""
    from django.conf import settings

    stale = timezone.now() - RECHECK_AFTER
    members = Member.objects.filter(tenant=tenant, tiktok_handle_status="valid").filter(
        _unchecked(stale)
    )[: settings.TIKTOK_HANDLE_CHECKS]
    checked = 0
    for member in members:
        if report.fetch_profile(member, source) is None and (
            member.tiktok_account_status != TikTokAccountStatus.NOT_FOUND
        ):
            break  # quota or provider trouble: the rest wait for the next scan
        checked += 1
    row.counters["accounts_checked"] = checked
    row.save(update_fields=["counters"])


def _unchecked(stale: datetime):  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(tiktok_checked_at__isnull=True) | Q(
        tiktok_checked_at__lt=stale,
        tiktok_account_status__in=[
            TikTokAccountStatus.PRIVATE,
            TikTokAccountStatus.NOT_FOUND,
        ],
    )


def _describe(row: TikTokScan) -> str:
    c = row.counters
    parts = [
        f"scan {row.pk} {row.status}",
        f"plan {row.plan} (estimated {row.estimated_requests} requests)",
        f"{c.get('requests', 0)} requests, {c.get('records', 0)} records",
        f"{c.get('videos', 0)} videos, {c.get('reported', 0)} reported",
        f"{c.get('not_matching', 0)} not matching locally",
        f"{c.get('not_members', 0)} by non-members",
        f"{c.get('retries', 0)} retries, {c.get('restarts', 0)} restarts",
        f"{c.get('empty_pages', 0)} empty pages",
        f"{c.get('accounts_checked', 0)} accounts checked",
    ]
    if row.note:
        parts.append(row.note)
    return "; ".join(parts)
