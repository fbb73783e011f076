"""The tag scanner: paging the ``tags`` edge, baselines, overlaps, throttling and
one run per brand at a time."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_q.conf import Conf

from integrations.instagram import tags, tasks
from integrations.instagram.tags import ScanResult
from integrations.meta.graph import GraphError
from integrations.models import Activity, ActivityKind, ActivityStatus, BrandConnection
from loyalty.models import LoyaltyEvent
from tests.integrations.instagram.conftest import FakeGraph, fixture_json

pytestmark = pytest.mark.django_db

Scan = Callable[[], ScanResult]


@pytest.fixture
def scan(
    connection: BrandConnection,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> Scan:
    """Scan the brand and run the resolution tasks it queues, inline."""
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.setattr("loyalty.tasks.drain_outbox", lambda: "skipped in tests")

    def run() -> ScanResult:
        with django_capture_on_commit_callbacks(execute=True):
            return tags.scan(connection.pk)

    return run


@pytest.fixture
def connected_before(connection: BrandConnection) -> BrandConnection:
    """A brand whose baseline scan found nothing: every tag from now on is new."""
    BrandConnection.objects.filter(pk=connection.pk).update(
        tags_baseline_at=timezone.now() - timedelta(days=1)
    )
    return connection


@pytest.fixture
def three_pages(fake_graph: FakeGraph) -> FakeGraph:
    fake_graph.tag_pages = {
        "": fixture_json("graph__tags_page_1"),
        "QVFIUjZA2": fixture_json("graph__tags_page_2"),
        "QVFIUjZA4": fixture_json("graph__tags_page_3"),
    }
    return fake_graph


def tag_events() -> list[tuple[str, str]]:
    return sorted(
        (event.subject, event.dedupe_key)
        for event in LoyaltyEvent.objects.filter(payload__mention_type="tag")
    )


def throttled() -> GraphError:
    return GraphError("(#80002) Too many calls", code=80002, http_status=400)


def test_it_records_tags_present_at_connection_as_a_baseline(
    scan: Scan, connection: BrandConnection, make_member: Any, three_pages: FakeGraph
) -> None:
    # given a brand never scanned, and members who tagged it long ago
    make_member("@Jane.Doe")

    # when
    result = scan()

    # then nothing is reported, but everything is remembered
    assert (result.outcome, result.pages, result.new, result.baseline) == (
        "scanned",
        3,
        0,
        4,
    )
    assert LoyaltyEvent.objects.count() == 0
    statuses = set(Activity.objects.values_list("status", flat=True))
    assert statuses == {ActivityStatus.IGNORED}
    connection.refresh_from_db()
    assert connection.tags_baseline_at is not None
    assert connection.tags_watermark.isoformat() == "2026-12-04T12:00:00+00:00"


def test_a_backfill_window_rewards_recent_tags_at_connection(
    scan: Scan,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
) -> None:
    # given a tenant rewarding the last two days' tags
    connection.tenant.tag_backfill_days = 2
    connection.tenant.save()
    member = make_member("@Jane.Doe")
    page = fixture_json("graph__tags_page_1")
    recent = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S%z")
    old = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S%z")
    page["data"][0]["timestamp"] = recent
    page["data"][1]["timestamp"] = old
    del page["paging"]["cursors"]["after"]
    fake_graph.tag_pages = {"": page}

    # when
    result = scan()

    # then
    assert (result.new, result.baseline) == (1, 1)
    assert [e.subject for e in LoyaltyEvent.objects.all()] == [member.wll_user_id]


def test_it_walks_three_pages_and_counts_a_repeated_media_once(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given
    jane = make_member("@Jane.Doe")
    john = make_member("JOHN_smith")

    # when
    result = scan()

    # then every page was read once, and four media recorded
    tag_reads = [call for call in three_pages.calls if call[0] == "tags"]
    assert tag_reads == [("tags", ""), ("tags", "QVFIUjZA2"), ("tags", "QVFIUjZA4")]
    assert (result.pages, result.new) == (3, 4)
    assert tag_events() == sorted(
        [
            (jane.wll_user_id, "instagram:tag:18000000000000006:MENTIONED_YOU_SOCIAL"),
            (john.wll_user_id, "instagram:tag:18000000000000005:MENTIONED_YOU_SOCIAL"),
            (jane.wll_user_id, "instagram:tag:18000000000000003:MENTIONED_YOU_SOCIAL"),
        ]
    )
    reel = LoyaltyEvent.objects.get(subject=john.wll_user_id)
    assert reel.payload["media_type"] == "reel"
    assert reel.occurred_at.isoformat() == "2026-12-04T11:00:00+00:00"
    unknown = Activity.objects.get(source_id="18000000000000004")
    assert (unknown.status, unknown.username) == (
        ActivityStatus.UNMATCHED,
        "nobody.known",
    )


def test_a_later_scan_stops_at_the_overlap_and_adds_only_what_is_new(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given a first scan
    make_member("@Jane.Doe")
    scan()
    first_events = LoyaltyEvent.objects.count()
    three_pages.calls.clear()

    # when a newer tag appears above media already seen
    three_pages.tag_pages[""] = fixture_json("graph__tags_newer_page")
    result = scan()

    # then one page is enough and one event is added
    assert [c for c in three_pages.calls if c[0] == "tags"] == [("tags", "")]
    assert (result.pages, result.new) == (1, 1)
    assert LoyaltyEvent.objects.count() == first_events + 1
    connected_before.refresh_from_db()
    assert connected_before.tags_watermark.isoformat() == "2026-12-04T15:00:00+00:00"


def test_a_tag_whose_media_disappeared_is_left_as_it_was(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given a reported tag
    make_member("JOHN_smith")
    scan()
    reported = Activity.objects.get(source_id="18000000000000005")
    assert reported.status == ActivityStatus.REPORTED

    # when the media is deleted and no longer listed
    for page in three_pages.tag_pages.values():
        page["data"] = [m for m in page["data"] if m["id"] != "18000000000000005"]
    result = scan()

    # then the scan goes on, and nothing is taken back or reported again
    assert result.outcome == "scanned"
    reported.refresh_from_db()
    assert reported.status == ActivityStatus.REPORTED
    assert LoyaltyEvent.objects.filter(payload__mention_type="tag").count() == 1


def test_a_throttled_scan_backs_off_and_resumes_where_it_stopped(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given Meta throttles the second page and says to wait three minutes
    make_member("@Jane.Doe")
    make_member("JOHN_smith")
    page_2 = three_pages.tag_pages["QVFIUjZA2"]
    three_pages.tag_pages["QVFIUjZA2"] = throttled()
    three_pages.last_usage = {
        "business_use_case": {
            "17841400000000001": [
                {"type": "instagram", "call_count": 100,
                 "estimated_time_to_regain_access": 3}
            ]
        }
    }  # fmt: skip

    # when
    first = scan()

    # then the first page is kept and the brand is paused
    assert (first.outcome, first.new) == ("throttled", 2)
    connected_before.refresh_from_db()
    pause = connected_before.graph_paused_until - timezone.now()
    assert timedelta(minutes=2) < pause <= timedelta(minutes=3)
    assert connected_before.is_tags_walk_incomplete
    assert connected_before.graph_usage["business_use_case"]

    # and a scan during the pause calls nothing
    three_pages.calls.clear()
    assert scan().outcome == "paused"
    assert three_pages.calls == []

    # when the pause is over and Meta answers again
    three_pages.tag_pages["QVFIUjZA2"] = page_2
    three_pages.last_usage = {}
    # (three minutes later)
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        graph_paused_until=timezone.now() - timedelta(seconds=1),
        graph_usage_at=timezone.now() - timedelta(minutes=3),
    )
    resumed = scan()
    # (the sweeper retries what was left pending during the pause)
    for pk in Activity.objects.filter(status=ActivityStatus.PENDING).values_list(
        "pk", flat=True
    ):
        tasks.resolve_activity(pk)

    # then it goes on from the page that was refused and finds the rest
    assert (resumed.outcome, resumed.pages, resumed.new) == ("scanned", 2, 2)
    assert [c for c in three_pages.calls if c[0] == "tags"] == [
        ("tags", "QVFIUjZA2"),
        ("tags", "QVFIUjZA4"),
    ]
    assert Activity.objects.filter(kind=ActivityKind.TAG).count() == 4
    assert len(tag_events()) == 3
    connected_before.refresh_from_db()
    assert not connected_before.is_tags_walk_incomplete
    assert connected_before.tags_resume_after == ""


def test_two_runs_started_at_once_on_one_brand_walk_once(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given a second run that starts while the first is reading the edge
    make_member("@Jane.Doe")
    second: list[ScanResult] = []
    three_pages.on_tags = lambda: second.append(tags.scan(connected_before.pk))

    # when
    first = scan()

    # then the second found the brand busy, and the work was done once
    assert {result.outcome for result in second} == {"busy"}
    assert first.outcome == "scanned"
    assert len([c for c in three_pages.calls if c[0] == "tags"]) == 3
    assert len(tag_events()) == 2
    connected_before.refresh_from_db()
    assert connected_before.tags_scan_started_at is None


def test_a_claim_left_by_a_dead_worker_expires(
    scan: Scan, connected_before: BrandConnection, three_pages: FakeGraph
) -> None:
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        tags_scan_started_at=timezone.now() - timedelta(minutes=11)
    )

    assert scan().outcome == "scanned"


def test_it_slows_down_above_eighty_percent_usage(
    scan: Scan, connected_before: BrandConnection, three_pages: FakeGraph
) -> None:
    # given a recent scan and usage near the limit
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        graph_usage={"app": {"call_count": 85, "total_time": 10}},
        tags_scanned_at=timezone.now() - timedelta(minutes=5),
    )

    # then the next scheduled run skips the brand
    assert scan().outcome == "slowed down"

    # until the slower interval has passed
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        tags_scanned_at=timezone.now() - timedelta(minutes=16)
    )
    assert scan().outcome == "scanned"


def test_a_tag_and_a_caption_mention_of_one_media_earn_one_event_each(
    scan: Scan,
    deliver: Any,
    connected_before: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
) -> None:
    # given Jane tags the brand in a post whose caption also mentions it
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    fake_graph.tag_pages = {"": {"data": [media], "paging": {"cursors": {}}}}

    # when both are seen, each twice
    scan()
    deliver("mentions__caption_post")
    BrandConnection.objects.filter(pk=connected_before.pk).update(tags_watermark=None)
    scan()
    deliver("mentions__caption_post")

    # then
    kinds = sorted(e.payload["mention_type"] for e in LoyaltyEvent.objects.all())
    assert kinds == ["mention", "tag"]


def test_the_schedule_queues_one_scan_per_connected_brand(
    connection: BrandConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "integrations.instagram.tags.async_task",
        lambda name, pk: queued.append((name, pk)),
    )

    tags.scan_all()

    assert queued == [("integrations.instagram.tasks.scan_brand_tags", connection.pk)]


def test_the_command_scans_and_reports_a_busy_brand(
    connected_before: BrandConnection, three_pages: FakeGraph
) -> None:
    from io import StringIO

    from django.core.management import call_command

    # given another run holds the brand
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        tags_scan_started_at=timezone.now()
    )
    busy = StringIO()
    call_command("scan_instagram_tags", "--tenant", "acme", stdout=busy)

    # when it is released
    BrandConnection.objects.filter(pk=connected_before.pk).update(
        tags_scan_started_at=None
    )
    done = StringIO()
    call_command("scan_instagram_tags", stdout=done)

    # then
    assert (
        busy.getvalue().strip() == "acme @acmecoffee: busy: 0 pages, 0 new, 0 baseline"
    )
    assert "scanned: 3 pages, 4 new" in done.getvalue()


def _graph_time(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _tag(media_id: str, username: str, timestamp: str) -> dict[str, Any]:
    return {
        "id": media_id,
        "username": username,
        "caption": "Tagged",
        "media_product_type": "FEED",
        "permalink": f"https://www.instagram.com/p/{media_id}/",
        "timestamp": timestamp,
    }


@pytest.mark.parametrize("since", ["connected_at", "created_at"])
def test_tags_posted_after_connecting_but_before_the_first_scan_are_rewarded(
    scan: Scan,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
    since: str,
) -> None:
    # given a brand connected ten minutes ago (onboarding sets connected_at;
    # a sandbox or admin connection only has created_at), never scanned since
    connected = timezone.now() - timedelta(minutes=10)
    fields = {"connected_at": connected} if since == "connected_at" else {}
    BrandConnection.objects.filter(pk=connection.pk).update(
        created_at=connected if since == "created_at" else timezone.now(), **fields
    )
    jane = make_member("@Jane.Doe")
    make_member("JOHN_smith")
    fresh = _graph_time(timezone.now() - timedelta(minutes=5))
    old = _graph_time(connected - timedelta(days=1))
    fake_graph.tag_pages = {
        "": {
            "data": [
                _tag("18000000000000101", "jane.doe", fresh),
                _tag("18000000000000102", "john_smith", old),
            ],
            "paging": {"cursors": {}},
        }
    }

    # when the first complete scan runs
    result = scan()

    # then the tag made after connecting is rewarded, the older one is not
    assert (result.new, result.baseline) == (1, 1)
    assert tag_events() == [
        (jane.wll_user_id, "instagram:tag:18000000000000101:MENTIONED_YOU_SOCIAL")
    ]
    older = Activity.objects.get(source_id="18000000000000102")
    assert older.status == ActivityStatus.IGNORED


def test_a_media_without_an_id_is_skipped_and_does_not_stop_the_walk(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
) -> None:
    # given a first page that starts with a media Meta sent without an id
    make_member("@Jane.Doe")
    page_1 = three_pages.tag_pages[""]
    assert isinstance(page_1, dict)
    page_1["data"].insert(0, {**page_1["data"][0], "id": ""})

    # when
    result = scan()

    # then all three pages are read and the id-less media recorded nowhere
    assert (result.outcome, result.pages, result.new) == ("scanned", 3, 4)
    assert not Activity.objects.filter(source_id="").exists()


def test_a_walk_cut_short_by_the_page_limit_resumes_from_its_cursor(
    scan: Scan,
    connected_before: BrandConnection,
    make_member: Any,
    three_pages: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a scan allowed two pages, and three pages of new tags
    make_member("@Jane.Doe")
    monkeypatch.setattr(tags, "MAX_PAGES", 2)

    # when
    first = scan()

    # then the walk is incomplete: no watermark, and the cursor is kept
    assert (first.outcome, first.pages, first.new) == ("page limit", 2, 3)
    connected_before.refresh_from_db()
    assert connected_before.is_tags_walk_incomplete
    assert connected_before.tags_resume_after == "QVFIUjZA4"
    assert connected_before.tags_watermark is None

    # when the next scan runs
    three_pages.calls.clear()
    second = scan()

    # then it reads only the page it had not reached, and completes
    assert [c for c in three_pages.calls if c[0] == "tags"] == [("tags", "QVFIUjZA4")]
    assert (second.outcome, second.new) == ("scanned", 1)
    assert len(tag_events()) == 2
    connected_before.refresh_from_db()
    assert not connected_before.is_tags_walk_incomplete
    assert connected_before.tags_resume_after == ""
    assert connected_before.tags_watermark is not None


def test_a_media_time_in_the_future_does_not_move_the_watermark_past_now(
    scan: Scan, connected_before: BrandConnection, fake_graph: FakeGraph
) -> None:
    # given a media claiming to be posted tomorrow
    tomorrow = _graph_time(timezone.now() + timedelta(days=1))
    fake_graph.tag_pages = {
        "": {
            "data": [_tag("18000000000000103", "jane.doe", tomorrow)],
            "paging": {"cursors": {}},
        }
    }

    # when
    before = timezone.now()
    scan()

    # then
    connected_before.refresh_from_db()
    assert before <= connected_before.tags_watermark <= timezone.now()
