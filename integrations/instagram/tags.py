"""The tag scanner: Instagram sends no webhook for tags, so the ``tags`` edge is
polled for each connected brand.

A scan walks the edge newest first, page by page with the ``after`` cursor,
until it meets a media it already knows or one older than the watermark minus
an overlap window, and upserts each media on (tenant, kind, media id). Until a
first walk has read the whole edge, media older than the brand's connection are
recorded as a baseline, not rewarded (the tenant's backfill window can reach
further back). A walk cut short (page limit, throttle) keeps its cursor and the
next scan continues from it.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from integrations.instagram import ratelimits
from integrations.instagram.media import parse_time
from integrations.instagram.messages import mark_needs_reconnect
from integrations.meta.graph import GraphClient, GraphError
from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    BrandConnection,
    Platform,
)
from loyalty.handles import normalize_instagram

logger = logging.getLogger(__name__)

RESOLVE_ACTIVITY = "integrations.instagram.tasks.resolve_activity"
SCAN_BRAND = "integrations.instagram.tasks.scan_brand_tags"

# INFERENCE: Meta promises no order on ``tags``; in practice it is newest first.
# Media up to this much older than the newest one seen before are still read,
# in case the order is loose.
OVERLAP = timedelta(hours=48)
# A claim older than this belongs to a scan whose worker died.
STALE_CLAIM = timedelta(minutes=10)
# Above the usage threshold a brand is scanned at most this often.
SLOW_INTERVAL = timedelta(minutes=15)
# Pages read per scan. A walk that reaches it is incomplete: the next scan goes on
# from its cursor. Limitation: tags newer than the walk's first page then wait
# until that backlog has been read (at 50 a page, 2,000 media per scan).
MAX_PAGES = 40


@dataclass
class ScanResult:
    outcome: str
    pages: int = 0
    new: int = 0
    baseline: int = 0

    def __str__(self) -> str:
        return (
            f"{self.outcome}: {self.pages} pages, {self.new} new, "
            f"{self.baseline} baseline"
        )


def scan_all() -> str:
    """Queue one scan per connected brand (the scheduled entry point)."""
    ids = list(BrandConnection.objects.connected().values_list("pk", flat=True))
    for pk in ids:
        async_task(SCAN_BRAND, pk)
    return f"queued {len(ids)} tag scans"


def scan(connection_id: int) -> ScanResult:
    """Scan one brand, unless it is paused, slowed down or already being scanned."""
    connection = (
        BrandConnection.objects.connected()
        .select_related("tenant")
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        return ScanResult("not connected")
    if ratelimits.is_paused(connection):
        return ScanResult("paused")
    if _is_slowed_down(connection):
        return ScanResult("slowed down")

    claimed_at = _claim(connection)
    if claimed_at is None:
        return ScanResult("busy")
    try:
        # A scan that ended between our read and our claim moved the cursor
        # and the watermark: walk from its state, not the one read before.
        connection.refresh_from_db()
        return _Walk(connection).run()
    finally:
        BrandConnection.objects.filter(
            pk=connection.pk, tags_scan_started_at=claimed_at
        ).update(tags_scan_started_at=None)


def _rewards_since(connection: BrandConnection) -> datetime:
    """While no walk has read the whole edge, tags from this moment on are
    rewarded: when the brand connected, less the tenant's backfill window."""
    # Onboarding sets connected_at; connections made by the sandbox loader or
    # typed into the admin have none, and their creation stands in for it.
    anchor = connection.connected_at or connection.created_at
    return anchor - timedelta(days=connection.tenant.tag_backfill_days)


def _is_slowed_down(connection: BrandConnection) -> bool:
    last = connection.tags_scanned_at
    recent = last is not None and last > timezone.now() - SLOW_INTERVAL
    return recent and ratelimits.is_busy(connection)


def _claim(connection: BrandConnection) -> datetime | None:
    """One scan per brand at a time: a conditional UPDATE only one run wins."""
    now = timezone.now()
    won = (
        BrandConnection.objects.filter(pk=connection.pk)
        .filter(
            Q(tags_scan_started_at__isnull=True)
            | Q(tags_scan_started_at__lt=now - STALE_CLAIM)
        )
        .update(tags_scan_started_at=now)
    )
    return now if won else None


class _Walk:
    """One scan's walk over the ``tags`` edge."""

    def __init__(self, connection: BrandConnection) -> None:
        self.connection = connection
        self.client = GraphClient(connection.page_token)
        self.is_baseline = connection.tags_baseline_at is None
        self.resume_after = connection.tags_resume_after or None
        # After a walk that stopped early, known media say nothing about what
        # lies behind them: only the time window stops this one.
        self.stops_at_known = not (
            self.is_baseline or connection.is_tags_walk_incomplete or self.resume_after
        )
        watermark = connection.tags_watermark
        self.cutoff = watermark - OVERLAP if watermark else None
        self.rewards_since = _rewards_since(connection)
        self.newest: datetime | None = None
        # Media met earlier in this same walk: pages are no snapshot, and a
        # media repeated on the next page is not a sign of reaching old ground.
        self.walked: set[str] = set()
        self.result = ScanResult("scanned")

    def run(self) -> ScanResult:
        after = self.resume_after
        for _ in range(MAX_PAGES):
            page = self._page(after)
            if page is None:
                # Throttled: the same page is asked for after the pause. Other
                # errors drop the cursor (it may be what Meta refused).
                keep = after if self.result.outcome == "throttled" else None
                self._finish(complete=False, resume_after=keep)
                return self.result
            data, next_after = page
            self.result.pages += 1
            reached_known = self._record_page(data)
            if reached_known or next_after is None:
                self._finish(complete=True)
                return self.result
            after = next_after
        self.result.outcome = "page limit"
        self._finish(complete=False, resume_after=after)
        return self.result

    def _page(self, after: str | None) -> tuple[list[Any], str | None] | None:
        try:
            page = self.client.tags(self.connection.ig_user_id, after)
        except GraphError as error:
            ratelimits.record_usage(self.connection, self.client.last_usage)
            self._stop(error)
            return None
        ratelimits.record_usage(self.connection, self.client.last_usage)
        return page

    def _stop(self, error: GraphError) -> None:
        if error.is_throttled:
            ratelimits.back_off(self.connection, error, self.client.last_usage)
            self.result.outcome = "throttled"
        elif error.is_token_error:
            mark_needs_reconnect(self.connection, error)
            self.result.outcome = "token refused"
        else:
            logger.warning(
                "Tag scan stopped by Graph error %s",
                error.code,
                extra={"connection": self.connection.pk},
            )
            self.result.outcome = f"stopped by Graph error {error.code}"

    def _record_page(self, data: list[Any]) -> bool:
        reached_known = False
        for media in data:
            media_id = str(media.get("id") or "")
            if not media_id:
                # Nothing to key it on, and no sign of reaching old ground.
                logger.warning(
                    "Tagged media without an id skipped",
                    extra={"connection": self.connection.pk},
                )
                continue
            happened = parse_time(media.get("timestamp"))
            if happened and (self.newest is None or happened > self.newest):
                self.newest = happened
            created = self._record(media_id, media, happened)
            known_before = not created and media_id not in self.walked
            self.walked.add(media_id)
            reached_known |= known_before and self.stops_at_known
            reached_known |= bool(self.cutoff and happened and happened < self.cutoff)
        return reached_known

    def _record(
        self, media_id: str, media: dict[str, Any], happened: datetime | None
    ) -> bool:
        # Until a walk has read the whole edge, a media older than the brand's
        # connection (or without a time) may be one that was there before it.
        is_reward = not self.is_baseline or bool(
            happened and happened >= self.rewards_since
        )
        with transaction.atomic():
            activity, created = Activity.objects.get_or_create(
                tenant=self.connection.tenant,
                platform=Platform.INSTAGRAM,
                kind=ActivityKind.TAG,
                source_id=media_id,
                defaults=self._defaults(media, happened, is_reward),
            )
            if not created:
                # The upsert's update half: the latest snapshot (counts, caption)
                # beside the one that was reported.
                Activity.objects.filter(pk=activity.pk).update(raw=media)
            elif is_reward:
                transaction.on_commit(lambda: async_task(RESOLVE_ACTIVITY, activity.pk))
        if created:
            self._count(is_reward)
        return created

    def _defaults(
        self, media: dict[str, Any], happened: datetime | None, is_reward: bool
    ) -> dict[str, Any]:
        status = ActivityStatus.PENDING if is_reward else ActivityStatus.IGNORED
        return {
            "connection": self.connection,
            "status": status,
            "username": normalize_instagram(media.get("username"))[0],
            "occurred_at": happened or timezone.now(),
            "raw": media,
            "details": {"media": media, "is_baseline": not is_reward},
            "error": "" if is_reward else "Tagged before the brand connected.",
        }

    def _count(self, is_reward: bool) -> None:
        if is_reward:
            self.result.new += 1
        else:
            self.result.baseline += 1

    def _finish(self, *, complete: bool, resume_after: str | None = None) -> None:
        now = timezone.now()
        fields: dict[str, Any] = {
            "tags_scanned_at": now,
            "is_tags_walk_incomplete": not complete,
            "tags_resume_after": resume_after or "",
        }
        if complete and self.is_baseline:
            fields["tags_baseline_at"] = now
        old = self.connection.tags_watermark
        # A clock that runs ahead (or a bad timestamp) must not put the
        # watermark in the future, or the overlap window would skip real tags.
        newest = min(self.newest, now) if self.newest else None
        # The watermark only moves after a complete walk: media behind an early
        # stop may be older than what was seen.
        if complete and newest and (old is None or newest > old):
            fields["tags_watermark"] = newest
        BrandConnection.objects.filter(pk=self.connection.pk).update(**fields)
        logger.info(
            "Tag scan %s", self.result, extra={"connection": self.connection.pk}
        )
