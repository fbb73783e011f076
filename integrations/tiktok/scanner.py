"""``scan``: one scan of a tenant's tracked hashtags on the configured source.

The scan's remaining work lives on its ``TikTokScan`` row and is saved after
every page, so a scan stopped by the quota (ours or the provider's 429), by a
failing provider or by a query that stalls (its ``search_id`` refused again and
again, or empty pages that say there is more), is paused and resumed by the
next run instead of started over. It is never left ``running``: a query that
stalls run after run, or a bug of ours, fails it with its days still unread,
and one video we cannot record is counted and passed over.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import (
    ScanPlan,
    ScanStatus,
    TikTokDayRead,
    TikTokScan,
    TrackedHashtag,
)
from integrations.tiktok import accounts, plans, report
from integrations.tiktok import hashtags as tags
from integrations.tiktok.sources import (
    Page,
    QuotaExhausted,
    RateLimited,
    SearchExpired,
    Source,
    SourceError,
    Video,
    VideoQuery,
    get_source,
)
from loyalty.handles import normalize_tiktok
from loyalty.models import Member, Tenant

logger = logging.getLogger(__name__)

# Restarts of one query (one batch of usernames, or one range of days) after
# its search_id was refused; past them the scan pauses for a later run.
MAX_RESTARTS = 3
# "has_more" with an empty page happens; after this many in a row the scan
# pauses, leaving the day unread, and the next run follows the query again.
MAX_EMPTY_PAGES = 3
# A query that stalls (restarts or empty pages exhausted) on this many runs in
# a row fails the scan: its days stay unread, so the next scan plans them again.
MAX_STALLS = 3
# A running scan not saved for this long belongs to a dead worker.
STALE_CLAIM = timedelta(minutes=30)


@dataclass
class ScanOutcome:
    tenant: str
    scan: TikTokScan | None
    message: str

    def __str__(self) -> str:
        return f"{self.tenant}: {self.message}"


class Stalled(SourceError):
    """A query made no progress within its bounds on this run."""

    kind = "stalled"


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
        _run_safely(row, hashtags, source)
        if row.status == ScanStatus.DONE:
            accounts.check_accounts(tenant, source, row)
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


def _resumable(now: datetime) -> Q:
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


def _run_safely(row: TikTokScan, hashtags: list[str], source: Source) -> None:
    """``_run``, but a bug of ours fails the scan instead of leaving it
    ``running``: its days stay unread and the next scan plans them again."""
    before = dict(source.stats)
    try:
        _run(row, hashtags, source, before)
    except Exception as error:
        logger.exception("TikTok scan crashed", extra={"scan": row.pk})
        _fail(row, f"failed: {type(error).__name__}")
        _save(row, source, before)


def _run(row: TikTokScan, hashtags: list[str], source: Source, before: dict) -> None:
    row.profiles = {}  # type: ignore[attr-defined]  # this run's profile reads
    while row.units:
        unit = row.units[0]
        stop: SourceError | None = None
        try:
            finished = _step(row, unit, hashtags, source)
        except SearchExpired as error:
            finished, stop = False, _restart(row, unit, error)
        except SourceError as error:
            finished, stop = False, error
        if stop is not None:
            _stop(row, unit, stop, source, before)
            return
        row.note = ""  # it moves on: an earlier pause's reason is stale
        if finished:
            _close_unit(row, row.units.pop(0))
        _save(row, source, before)
    row.status, row.note = ScanStatus.DONE, ""
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
    if page.has_more and not page.videos:
        _count(row, "empty_pages")
        unit["empty"] = unit.get("empty", 0) + 1
        logger.warning("TikTok page empty but has_more", extra={"scan": row.pk})
        if unit["empty"] >= MAX_EMPTY_PAGES:
            # Taking the query as finished would drop the rest of its days'
            # posts (for good on a final read): stop, leaving them unread.
            raise Stalled(f"{MAX_EMPTY_PAGES} empty pages in a row with has_more")
    else:
        unit["empty"] = 0
    if page.has_more:
        unit["cursor"], unit["search_id"] = page.cursor, page.search_id
        return False

    # The query is complete: the next one gets its own restarts and stalls.
    unit.update(cursor=None, search_id=None, empty=0, restarts=0, stalls=0)
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
        else:
            _count(row, _report_one(row, member, video, found, source))


def _report_one(
    row: TikTokScan, member: Member, video: Video, found: list[str], source: Source
) -> str:
    """Report one video; a video we fail on is counted and passed over, never
    allowed to stop the scan (it is tried again when its day is read again)."""
    try:
        return report.report(row.tenant, member, video, found, source, row.profiles)  # type: ignore[attr-defined]
    except SourceError:
        raise
    except Exception:
        logger.exception(
            "TikTok video not recorded", extra={"scan": row.pk, "video": video.id}
        )
        return "failed"


def _members(tenant: Tenant, usernames: list[str]) -> dict[str, Member]:
    handles = {normalize_tiktok(name)[0] for name in usernames} - {""}
    found: dict[str, list[Member]] = {}
    for member in plans.scannable_members(tenant).filter(tiktok_handle__in=handles):
        found.setdefault(member.tiktok_handle, []).append(member)
    # Limitation: two members claiming one handle cannot be told apart; the
    # post is left unreported until one of them changes theirs.
    return {handle: pair[0] for handle, pair in found.items() if len(pair) == 1}


def _restart(row: TikTokScan, unit: dict, error: SearchExpired) -> SourceError | None:
    """Start the unit's current query over (reported videos are not reported
    again), or a Stalled to pause on once the query has used its restarts."""
    unit.update(cursor=None, search_id=None)
    if row.plan == ScanPlan.HASHTAGS:
        unit["counts"] = {}  # the query counts its days' posts from the start
    if unit.get("restarts", 0) >= MAX_RESTARTS:
        return Stalled(f"search restarted {MAX_RESTARTS} times: {error}")
    _count(row, "restarts")
    unit["restarts"] = unit.get("restarts", 0) + 1
    logger.warning(
        "TikTok search expired, restarting the query", extra={"scan": row.pk}
    )
    return None


def _close_unit(row: TikTokScan, unit: dict) -> None:
    now = timezone.now()
    for day, reads in unit["reads"].items():
        read, _ = TikTokDayRead.objects.get_or_create(tenant=row.tenant, day=day)
        read.reads = max(read.reads, reads)
        read.last_read_at = now
        # A read of the day so far (no point reached yet) is not its count.
        if row.plan == ScanPlan.HASHTAGS and reads > 0:
            read.hashtag_posts = unit["counts"].get(day, 0)
        read.save()


def _stop(
    row: TikTokScan, unit: dict, error: SourceError, source: Source, before: dict
) -> None:
    """Pause on ``error`` for a later run; a query stalling run after run fails
    the scan instead, so it never loops: its days stay unread for the next."""
    if isinstance(error, Stalled):
        unit.update(empty=0, restarts=0, stalls=unit.get("stalls", 0) + 1)
        if unit["stalls"] >= MAX_STALLS:
            _fail(row, f"failed ({error.kind}) on {MAX_STALLS} runs: {error}")
            _save(row, source, before)
            return
    _pause(row, error, source, before)


def _fail(row: TikTokScan, note: str) -> None:
    row.status, row.note = ScanStatus.FAILED, note[:500]
    row.finished_at = timezone.now()
    logger.warning("TikTok scan failed: %s", note, extra={"scan": row.pk})


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
        f"{c.get('failed', 0)} failed, {c.get('private', 0)} by private accounts",
        f"{c.get('accounts_checked', 0)} accounts checked",
    ]
    if row.note:
        parts.append(row.note)
    return "; ".join(parts)
