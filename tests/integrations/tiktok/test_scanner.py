"""The scanner over the real source and the emulator, through the live server."""

import math
from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from integrations.models import (
    Activity,
    SandboxTikTokState,
    SandboxTikTokUser,
    SandboxTikTokVideo,
    ScanPlan,
    ScanStatus,
    TikTokDayRead,
    TikTokQuotaDay,
)
from integrations.tiktok import plans, quota
from integrations.tiktok.emulator.index import hashtag_index
from integrations.tiktok.research import ResearchSource
from integrations.tiktok.scanner import scan
from loyalty.models import (
    AttributeWrite,
    HandleStatus,
    LoyaltyEvent,
    Member,
    TikTokAccountStatus,
)
from tests.integrations.tiktok.conftest import tiktok_member, tiktok_tenant

pytestmark = pytest.mark.usefixtures("emulator")

_ids = iter(range(7443512098765400000, 7443512098765499999))


def yesterday_noon() -> int:
    day = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    return int(datetime.combine(day, time(12), UTC).timestamp())


def post(username: str, caption: str, count: int = 1, at: int | None = None) -> None:
    SandboxTikTokVideo.objects.bulk_create(
        SandboxTikTokVideo(
            video_id=str(next(_ids)),
            username=username,
            video_description=caption,
            hashtag_index=hashtag_index(caption),
            create_time=(at or yesterday_noon()) + n,
            like_count=7,
            comment_count=2,
        )
        for n in range(count)
    )


def user(username: str, **fields) -> None:
    SandboxTikTokUser.objects.create(username=username, **fields)


def faults(*items: dict) -> None:
    SandboxTikTokState.objects.update_or_create(pk=1, defaults={"faults": list(items)})


def emulator_requests() -> int:
    return SandboxTikTokState.objects.get().requests


def test_a_members_tracked_post_is_reported_once() -> None:
    # given
    tenant = tiktok_tenant()
    jane = tiktok_member(tenant, "@JaneDoe")
    user("janedoe", follower_count=50, following_count=10, bio_description="hi",
         avatar_url="https://cdn.example/j.jpg")  # fmt: skip
    post("janedoe", "Latte art #AcmeCoffee☕")

    # when it is scanned twice
    first = scan(tenant)
    Member.objects.filter(pk=jane.pk).update(tiktok_checked_at=None)
    second = scan(tenant)

    # then
    assert first.scan.counters["reported"] == 1, str(first)
    assert second.scan.counters.get("reported", 0) == 0
    event = LoyaltyEvent.objects.get()
    assert event.type == "MENTIONED_YOU_SOCIAL" and event.subject == jane.wll_user_id
    assert event.payload == {
        "caption": "Latte art #AcmeCoffee☕",
        "like_count": 7,
        "comments_count": 2,
        "platform": "tiktok",
        "mention_type": "hashtag",
        "media_type": "tiktok video",
    }
    assert AttributeWrite.objects.get().attributes == {
        "tiktok_handle": "janedoe",
        "tiktok_follows": 10,
        "tiktok_followers": 50,
        "tiktok_bio": "hi",
        "tiktok_profile_image": "https://cdn.example/j.jpg",
    }
    activity = Activity.objects.get()
    assert len(activity.source_id) == 19 and activity.raw["id"] == activity.source_id


def test_it_rechecks_the_sources_fuzzy_match_locally() -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "not ours #acmecoffeeshop")

    outcome = scan(tenant)

    assert outcome.scan.counters["videos"] == 1
    assert outcome.scan.counters["not_matching"] == 1
    assert not LoyaltyEvent.objects.exists()


def test_an_expired_search_id_restarts_the_query_without_duplicates() -> None:
    # given 150 posts (two pages) and a search_id refused on the second page
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee", count=150)
    faults({}, {"expire_search": True})

    # when
    outcome = scan(tenant)

    # then
    assert outcome.scan.status == ScanStatus.DONE
    assert outcome.scan.counters["restarts"] == 1
    assert LoyaltyEvent.objects.count() == 150


def test_a_500_is_retried_and_still_charged() -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee")
    faults({"status": 500})

    outcome = scan(tenant)

    assert outcome.scan.status == ScanStatus.DONE
    assert outcome.scan.counters["retries"] == 1
    assert LoyaltyEvent.objects.count() == 1
    # two video queries (one failed) and one profile read, on both counts
    assert emulator_requests() == 3
    assert TikTokQuotaDay.objects.get().requests == 3


def test_an_empty_page_with_has_more_is_followed() -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee", count=3)
    faults({"empty_page": True})

    outcome = scan(tenant)

    assert outcome.scan.counters["empty_pages"] == 1
    assert LoyaltyEvent.objects.count() == 3


def test_a_429_pauses_the_scan_until_the_quota_resets(monkeypatch) -> None:
    # given
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee")
    faults({"status": 429})

    # when
    paused = scan(tenant)
    again = scan(tenant)

    # then nothing more is sent that day
    assert paused.scan.status == ScanStatus.PAUSED
    assert "rate_limited" in paused.scan.note
    assert again.scan.pk == paused.scan.pk and again.scan.status == ScanStatus.PAUSED
    assert emulator_requests() == 1

    # and the next day the same scan finishes
    monkeypatch.setattr(quota, "today", lambda: timezone.now().date() + timedelta(1))
    resumed = scan(tenant)
    assert resumed.scan.pk == paused.scan.pk and resumed.scan.status == ScanStatus.DONE
    assert resumed.scan.note == ""  # the pause's reason went with the pause
    assert LoyaltyEvent.objects.count() == 1


def test_a_scan_split_across_two_quota_days_reports_each_post_once(monkeypatch) -> None:
    # given 350 posts (four pages) and three requests left today
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    post("janedoe", "#acmecoffee", count=350)
    TikTokQuotaDay.objects.create(source="research", day=quota.today(), requests=997)

    # when
    first = scan(tenant)

    # then it stops after two pages and a profile read, keeping its place
    assert first.scan.status == ScanStatus.PAUSED and "quota" in first.scan.note
    assert first.scan.units[0]["cursor"] == 200
    assert TikTokQuotaDay.objects.get(day=quota.today()).requests == 1000

    # when the quota day turns
    tomorrow = quota.today() + timedelta(days=1)
    monkeypatch.setattr(quota, "today", lambda: tomorrow)
    second = scan(tenant)

    # then it goes on from the third page and every post is reported once
    assert second.scan.pk == first.scan.pk and second.scan.status == ScanStatus.DONE
    assert LoyaltyEvent.objects.count() == 350
    assert TikTokQuotaDay.objects.get(day=tomorrow).requests == 2 + 1  # + profile


def test_private_missing_and_invalid_handles_are_recorded_and_skipped() -> None:
    # given
    tenant = tiktok_tenant()
    private = tiktok_member(tenant, "zoe.muller")
    missing = tiktok_member(tenant, "ghost.user")
    invalid = tiktok_member(tenant, "jane\x00doe")
    user("zoe.muller", is_private=True)

    # when
    first = scan(tenant)
    sent = emulator_requests()
    second = scan(tenant)

    # then
    private.refresh_from_db()
    missing.refresh_from_db()
    invalid.refresh_from_db()
    assert private.tiktok_account_status == TikTokAccountStatus.PRIVATE
    assert missing.tiktok_account_status == TikTokAccountStatus.NOT_FOUND
    assert invalid.tiktok_handle_status == HandleStatus.INVALID
    assert first.scan.counters["accounts_checked"] == 2
    # not checked again, and left out of the next scan's batches
    assert second.scan.counters["accounts_checked"] == 0
    assert plans.scannable_members(tenant).count() == 0
    assert emulator_requests() == sent


def test_10000_members_cost_what_the_usernames_plan_says(settings) -> None:
    # given 10,000 members and a hashtag so busy that batches are cheaper
    settings.TIKTOK_DEFAULT_DAILY_POSTS = 1_000_000
    tenant = tiktok_tenant()
    Member.objects.bulk_create(
        Member(
            tenant=tenant,
            wll_user_id=f"user-{n}",
            tiktok_handle=f"member{n:05d}",
            tiktok_handle_status=HandleStatus.VALID,
            tiktok_account_status=TikTokAccountStatus.PUBLIC,
            tiktok_checked_at=timezone.now(),
        )
        for n in range(10_000)
    )
    # (two reads a day of 100 batches exceed the tenant's share of the quota,
    # so each day is read once, after the indexing lag: post three days ago)
    post("member00042", "#acmecoffee", at=yesterday_noon() - 2 * 86400)
    user("member00042")
    source = ResearchSource()
    choice = plans.choose(tenant, timezone.now(), source)

    # when
    outcome = scan(tenant, source)

    # then
    assert not plans.early_reads_fit(10_000, 1_000_000, source)
    assert choice.plan == ScanPlan.USERNAMES
    expected = len(choice.units) * math.ceil(10_000 / source.username_batch)
    assert choice.estimated_requests == expected
    assert outcome.scan.counters["requests"] == expected + 1  # + one profile read
    assert LoyaltyEvent.objects.count() == 1


def test_the_hashtags_plan_costs_a_request_per_hundred_posts(settings) -> None:
    # given 301 members (4 batches) and a hashtag expected to be quiet (50 posts
    # a day, so under four pages for the due days), with 250 posts yesterday
    settings.TIKTOK_DEFAULT_DAILY_POSTS = 50
    tenant = tiktok_tenant()
    Member.objects.bulk_create(
        Member(
            tenant=tenant,
            wll_user_id=f"user-{n}",
            tiktok_handle=f"fan{n:03d}",
            tiktok_handle_status=HandleStatus.VALID,
            tiktok_account_status=TikTokAccountStatus.PUBLIC,
            tiktok_checked_at=timezone.now(),
        )
        for n in range(301)
    )
    user("fan007")
    post("someone.else", "#acmecoffee", count=249)
    post("fan007", "#acmecoffee")
    source = ResearchSource()
    choice = plans.choose(tenant, timezone.now(), source)

    # when
    outcome = scan(tenant, source)

    # then the hashtags plan was cheaper, and cost a page per hundred posts
    assert choice.plan == ScanPlan.HASHTAGS
    assert choice.estimated_requests < plans.username_cost(choice.units, 301, source)
    assert outcome.scan.counters["requests"] == math.ceil(250 / 100) + 1  # + profile
    assert outcome.scan.counters["not_members"] == 249
    assert LoyaltyEvent.objects.count() == 1
    # and what it saw becomes the next estimate
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    assert TikTokDayRead.objects.get(tenant=tenant, day=yesterday).hashtag_posts == 250


def test_a_past_day_is_read_again_only_when_its_next_read_is_due() -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    user("janedoe")
    today = timezone.now().astimezone(UTC).date().isoformat()

    scan(tenant)
    again = scan(tenant)

    # only the current day, read as far as it is indexed, with one request
    assert again.scan.counters.get("requests", 0) == 1
    assert TikTokDayRead.objects.get(tenant=tenant, day=today).reads == 0


def test_a_video_posted_today_is_reported_on_the_next_scan() -> None:
    # given a quiet tenant, whose share allows reading the day so far
    tenant = tiktok_tenant()
    jane = tiktok_member(tenant, "janedoe")
    user("janedoe", follower_count=7)
    scan(tenant)
    post("janedoe", "fresh #AcmeCoffee", at=int(timezone.now().timestamp()) - 60)

    # when
    outcome = scan(tenant)

    # then
    assert outcome.scan.counters.get("reported") == 1
    event = LoyaltyEvent.objects.get()
    assert (event.subject, event.payload["caption"]) == (
        jane.wll_user_id,
        "fresh #AcmeCoffee",
    )


def test_a_busy_tenant_reads_each_day_once_after_the_lag(settings) -> None:
    # given two read points, and a tenant whose day costs 100 requests a read
    settings.TIKTOK_READ_HOURS = [24, 72]
    tenant = tiktok_tenant()
    source = ResearchSource()
    now = timezone.now()
    today = now.astimezone(UTC).date()

    # when
    early = plans.due_days(tenant, now, early_reads=True)
    late = plans.due_days(tenant, now, early_reads=False)

    # then yesterday waits for its settling read; three days ago is due, whole
    yesterday, settled = today - timedelta(days=1), today - timedelta(days=3)
    assert early[yesterday] == 1 and early[settled] == 2
    assert yesterday not in late and late[settled] == 2
    assert not plans.early_reads_fit(100_000, 10_000, source)
    assert plans.early_reads_fit(100_000, 9_000, source)
    assert plans.early_reads_fit(300, 10_000, source)
