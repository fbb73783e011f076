"""A scan meeting trouble on the emulator: it pauses with a reason, fails
rather than loops, and never stays ``running`` or drops a day unread."""

import pytest
from django.db import DataError

from integrations.models import (
    Activity,
    ActivityStatus,
    ScanStatus,
    TikTokDayRead,
    TikTokScan,
)
from integrations.tiktok import report
from integrations.tiktok.research import ResearchSource
from integrations.tiktok.scanner import MAX_RESTARTS, scan
from loyalty.models import AttributeWrite, LoyaltyEvent, Member, TikTokAccountStatus
from tests.integrations.tiktok.conftest import tiktok_member, tiktok_tenant
from tests.integrations.tiktok.test_scanner import faults, post, user

pytestmark = pytest.mark.usefixtures("emulator")

EXPIRE = {"expire_search": True}
EMPTY = {"empty_page": True}


def _jane_with_posts(count: int) -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee", count=count)


def test_a_fourth_expiry_of_one_query_pauses_the_scan_for_a_later_run() -> None:
    # given two pages whose second page's search_id is refused four times
    _jane_with_posts(150)
    tenant = Member.objects.get().tenant
    faults(*[{}, EXPIRE] * (MAX_RESTARTS + 1))

    # when
    paused = scan(tenant)

    # then
    assert paused.scan.status == ScanStatus.PAUSED
    assert "restarted 3 times" in paused.scan.note
    assert paused.scan.counters["restarts"] == MAX_RESTARTS
    assert not TikTokDayRead.objects.exists()

    # when it is resumed
    resumed = scan(tenant)

    # then it finishes, reports each post once, and the pause note is gone
    assert resumed.scan.pk == paused.scan.pk
    assert resumed.scan.status == ScanStatus.DONE and resumed.scan.note == ""
    assert LoyaltyEvent.objects.count() == 150


def test_restarts_are_counted_per_query_not_per_scan(settings) -> None:
    # given five members read one per query, each query two pages, and one
    # expiry in each: more expiries in the scan than one query may have
    settings.TIKTOK_DEFAULT_DAILY_POSTS = 1_000_000
    tenant = tiktok_tenant()
    for name in ("ann", "bob", "cat", "dan", "eve"):
        tiktok_member(tenant, name)
        user(name)
        post(name, "#acmecoffee", count=3)
    source = ResearchSource()
    source.username_batch, source.page_size = 1, 2
    faults(*[{}, EXPIRE, {}, {}] * 5)

    # when
    outcome = scan(tenant, source)

    # then
    assert outcome.scan.status == ScanStatus.DONE, str(outcome)
    assert outcome.scan.counters["restarts"] == 5
    assert LoyaltyEvent.objects.count() == 15


def test_empty_pages_with_has_more_pause_and_leave_the_day_unread() -> None:
    # given three empty pages in a row that claim there is more
    _jane_with_posts(3)
    tenant = Member.objects.get().tenant
    faults(EMPTY, EMPTY, EMPTY)

    # when
    paused = scan(tenant)

    # then nothing was taken as read
    assert paused.scan.status == ScanStatus.PAUSED, str(paused)
    assert "empty pages" in paused.scan.note
    assert not TikTokDayRead.objects.exists()
    assert not LoyaltyEvent.objects.exists()

    # and the next run reads the posts and settles the days
    resumed = scan(tenant)
    assert resumed.scan.status == ScanStatus.DONE and resumed.scan.note == ""
    assert LoyaltyEvent.objects.count() == 3
    assert TikTokDayRead.objects.exists()


def test_a_query_stalling_run_after_run_fails_the_scan_and_a_new_one_rereads() -> None:
    # given a source that keeps answering empty pages with has_more
    _jane_with_posts(3)
    tenant = Member.objects.get().tenant
    faults(*[EMPTY] * 9)

    # when it is run three times
    runs = [scan(tenant) for _ in range(3)]

    # then it pauses twice, then gives up instead of looping
    assert [run.scan.status for run in runs] == ["paused", "paused", "failed"]
    assert len({run.scan.pk for run in runs}) == 1
    assert not TikTokDayRead.objects.exists()

    # and the next scan plans the unread days again
    fresh = scan(tenant)
    assert fresh.scan.pk != runs[0].scan.pk and fresh.scan.status == "done"
    assert LoyaltyEvent.objects.count() == 3


def test_one_video_we_cannot_store_is_counted_and_the_scan_goes_on(
    monkeypatch,
) -> None:
    # given two posts, the first of which the database refuses
    _jane_with_posts(2)
    tenant = Member.objects.get().tenant
    record = report._record
    refused: list[str] = []

    def refuse_first(tenant, member, video, tags, **kwargs):  # type: ignore[no-untyped-def]
        if not refused or refused[0] == video.id:
            refused.append(video.id)
            raise DataError("unsupported Unicode escape sequence")
        return record(tenant, member, video, tags, **kwargs)

    monkeypatch.setattr(report, "_record", refuse_first)

    # when
    outcome = scan(tenant)

    # then
    assert outcome.scan.status == ScanStatus.DONE, str(outcome)
    assert outcome.scan.counters["failed"] == 1
    assert outcome.scan.counters["reported"] == 1
    assert Activity.objects.get().source_id != refused[0]


def test_a_bug_fails_the_scan_instead_of_leaving_it_running(monkeypatch) -> None:
    _jane_with_posts(1)
    tenant = Member.objects.get().tenant
    monkeypatch.setattr(
        report,
        "already_reported",
        lambda *args: 1 / 0,  # our own bug
    )

    outcome = scan(tenant)

    assert outcome.scan.status == ScanStatus.FAILED
    assert "ZeroDivisionError" in outcome.scan.note
    assert not TikTokScan.objects.filter(status=ScanStatus.RUNNING).exists()


def test_a_private_accounts_post_is_ignored_with_its_reason() -> None:
    # given a member whose account turns out private when the post is found
    tenant = tiktok_tenant()
    zoe = tiktok_member(tenant, "zoe.muller")
    user("zoe.muller", is_private=True, follower_count=12)
    post("zoe.muller", "#acmecoffee")

    # when
    outcome = scan(tenant)

    # then nothing is sent, and the post is kept as ignored
    assert outcome.scan.counters["private"] == 1
    assert outcome.scan.counters.get("reported", 0) == 0
    assert not LoyaltyEvent.objects.exists()
    assert not AttributeWrite.objects.exists()
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.IGNORED
    assert activity.error_code == "private_account" and "private" in activity.error
    zoe.refresh_from_db()
    assert zoe.tiktok_account_status == TikTokAccountStatus.PRIVATE
