"""The Research API source against recorded answers, one fixture per failure."""

import pytest

from integrations.models import TikTokQuotaDay
from integrations.tiktok import quota
from integrations.tiktok.research import MAX_ATTEMPTS
from integrations.tiktok.sources import (
    AccountNotFound,
    QuotaExhausted,
    RateLimited,
    SearchExpired,
    SourceUnavailable,
    VideoQuery,
)
from tests.integrations.tiktok.conftest import NOW, scripted_source

pytestmark = pytest.mark.django_db

QUERY = VideoQuery(
    start=NOW.date(), end=NOW.date(), hashtags=("acmecoffee",), usernames=("jane.doe",)
)


def test_it_reads_a_page_keeping_ids_exact() -> None:
    source, session = scripted_source("video_query__page")

    page = source.query_videos(QUERY, None, None)

    # Ids past 2^53 come back as text, digit for digit; "video_id" is accepted.
    assert [v.id for v in page.videos] == ["7380000000000000001", "7380000000000000002"]
    assert page.videos[1].username == "janedoe"  # NUL stripped
    assert (page.cursor, page.search_id, page.has_more) == (
        100,
        "7380000000000000999",
        True,
    )
    body = session.calls[0]["json"]
    assert body["query"]["and"] == [
        {"operation": "IN", "field_name": "username", "field_values": ["jane.doe"]},
        {
            "operation": "IN",
            "field_name": "hashtag_name",
            "field_values": ["acmecoffee"],
        },
    ]
    assert (body["start_date"], body["max_count"]) == ("20261204", 100)
    assert "search_id" not in body


def test_it_sends_cursor_and_search_id_on_later_pages() -> None:
    source, session = scripted_source("video_query__page")

    source.query_videos(QUERY, 100, "7380000000000000999")

    body = session.calls[0]["json"]
    assert (body["cursor"], body["search_id"]) == (100, "7380000000000000999")


@pytest.mark.parametrize(
    "name", ["video_query__search_expired", "video_query__invalid_cursor"]
)
def test_it_reports_a_refused_search_as_expired(name) -> None:
    source, _ = scripted_source(name)

    with pytest.raises(SearchExpired):
        source.query_videos(QUERY, 100, "7380000000000000999")


@pytest.mark.parametrize(
    "name", ["video_query__internal_error", "video_query__gateway_timeout"]
)
def test_it_retries_server_errors_a_bounded_number_of_times(name) -> None:
    source, session = scripted_source(*[name] * MAX_ATTEMPTS)

    with pytest.raises(SourceUnavailable):
        source.query_videos(QUERY, None, None)

    # Every attempt was charged to the quota, as TikTok charges 500s.
    assert len(session.calls) == MAX_ATTEMPTS
    assert TikTokQuotaDay.objects.get().requests == MAX_ATTEMPTS
    assert source.stats["retries"] == MAX_ATTEMPTS - 1


def test_a_retry_after_a_500_usually_works() -> None:
    source, _ = scripted_source("video_query__internal_error", "video_query__page")

    page = source.query_videos(QUERY, None, None)

    assert len(page.videos) == 2
    assert TikTokQuotaDay.objects.get().records == 2  # unused reservation returned


def test_it_stops_sending_for_the_day_on_429() -> None:
    source, session = scripted_source("video_query__rate_limited")

    with pytest.raises(RateLimited):
        source.query_videos(QUERY, None, None)
    with pytest.raises(QuotaExhausted):
        source.query_videos(QUERY, None, None)

    assert len(session.calls) == 1
    assert TikTokQuotaDay.objects.get().is_exhausted


def test_it_never_sends_past_the_daily_request_quota() -> None:
    source, session = scripted_source("video_query__page")
    TikTokQuotaDay.objects.create(source="research", day=quota.today(), requests=999)

    source.query_videos(QUERY, None, None)
    with pytest.raises(QuotaExhausted):
        source.query_videos(QUERY, None, None)

    assert len(session.calls) == 1
    assert TikTokQuotaDay.objects.get().requests == 1000


def test_it_reads_a_profile() -> None:
    source, _ = scripted_source("user_info__ok")

    profile = source.profile("jane.doe")

    assert (profile.follower_count, profile.following_count) == (1520, 310)
    assert profile.bio == "coffee & miles" and not profile.is_private


def test_it_reports_an_unknown_account() -> None:
    source, _ = scripted_source("user_info__not_found")

    with pytest.raises(AccountNotFound):
        source.profile("ghost.user")
