"""The Graph client's media reads (mentions, tags) against the emulator over HTTP:
cursor paging without ``next`` links, media without ``media_url``, usage headers
and scripted throttling."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.instagram import ratelimits, tags
from integrations.instagram.media import parse_time
from integrations.meta.graph import TAGS_PAGE_SIZE, GraphClient, GraphError
from integrations.models import (
    Activity,
    BrandConnection,
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
)
from loyalty.models import Tenant

TOKEN = "page-token-acme"
BRAND_IG_ID = "17841400000000001"

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_world(live_server: Any, settings: Any) -> SandboxBrand:
    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    SandboxInstagramUser.objects.create(
        igsid="6100000000000009", username="hush.shop", is_private=True
    )
    return SandboxBrand.objects.create(
        slug="acme",
        ig_user_id=BRAND_IG_ID,
        username="acmecoffee",
        page_id="100000000000001",
        page_token=TOKEN,
    )


def _id(number: int) -> str:
    return f"1800000000000{number:04d}"


def _media(number: int, **fields: Any) -> SandboxMedia:
    defaults: dict[str, Any] = {
        "media_id": _id(number),
        "username": "jane.doe",
        "caption": f"number {number}",
        "media_url": f"https://cdn.example.test/{number}.jpg",
        "permalink": f"https://www.instagram.com/p/X{number}/",
        "timestamp": f"2026-12-{1 + number // 24:02d}T{number % 24:02d}:00:00+0000",
        "tags": ["acme"],
    }
    return SandboxMedia.objects.create(**(defaults | fields))


@live
def test_it_pages_the_tags_edge_by_after_cursors(media_world: SandboxBrand) -> None:
    # given more tagged media than fit a page, one of them private
    for number in range(TAGS_PAGE_SIZE + 7):
        _media(number)
    _media(99, username="hush.shop")
    _media(98, tags=["globex"])

    # when
    client = GraphClient(TOKEN)
    first, after = client.tags(BRAND_IG_ID)
    second, last = client.tags(BRAND_IG_ID, after)

    # then newest first, every visible media once, and no cursor at the end
    ids = [item["id"] for item in first + second]
    assert len(first) == TAGS_PAGE_SIZE
    assert len(ids) == len(set(ids)) == TAGS_PAGE_SIZE + 7
    assert ids[0] == _id(56)
    assert last is None
    assert first[0]["timestamp"] > second[0]["timestamp"]


@live
def test_the_tags_edge_orders_and_pages_by_instant_across_utc_offsets(
    media_world: SandboxBrand,
) -> None:
    # given a page and more of +0000 media, and one whose -2300 offset makes it
    # the newest instant though its text sorts among the others
    for number in range(TAGS_PAGE_SIZE + 3):
        _media(number)
    _media(97, timestamp="2026-12-02T23:00:00-2300")

    # when
    client = GraphClient(TOKEN)
    first, after = client.tags(BRAND_IG_ID)
    second, last = client.tags(BRAND_IG_ID, after)

    # then it comes first, and the cursor neither repeats nor skips a media
    ids = [item["id"] for item in first + second]
    assert ids[0] == _id(97)
    assert len(ids) == len(set(ids)) == TAGS_PAGE_SIZE + 4
    instants = [parse_time(item["timestamp"]) for item in first + second]
    assert instants == sorted(instants, reverse=True)
    assert last is None


@live
def test_it_reads_a_caption_mention(media_world: SandboxBrand) -> None:
    _media(1, mentions=["acme"], tags=[], media_product_type="REELS")

    media = GraphClient(TOKEN).mentioned_media(BRAND_IG_ID, _id(1))

    assert media["username"] == "jane.doe"
    assert media["media_product_type"] == "REELS"
    assert media["media_url"] == "https://cdn.example.test/1.jpg"


@live
def test_media_without_a_url_comes_back_without_the_field(
    media_world: SandboxBrand,
) -> None:
    _media(
        1,
        mentions=["acme"],
        media_url="",
        thumbnail_url="https://cdn.example.test/1-thumb.jpg",
    )

    media = GraphClient(TOKEN).mentioned_media(BRAND_IG_ID, _id(1))

    assert "media_url" not in media
    assert media["thumbnail_url"] == "https://cdn.example.test/1-thumb.jpg"


@live
def test_it_refuses_media_that_does_not_mention_the_brand(
    media_world: SandboxBrand,
) -> None:
    _media(1, mentions=["globex"])

    with pytest.raises(GraphError) as raised:
        GraphClient(TOKEN).mentioned_media(BRAND_IG_ID, _id(1))

    assert raised.value.code == 100


@live
def test_it_reads_a_comment_mention_without_an_author(
    media_world: SandboxBrand,
) -> None:
    comment = {
        "id": "17900000000000001",
        "text": "@acmecoffee yes",
        "mentions": ["acme"],
    }
    _media(1, comments=[comment])

    answer = GraphClient(TOKEN).mentioned_comment(BRAND_IG_ID, "17900000000000001")

    assert answer["text"] == "@acmecoffee yes"
    assert answer["media"]["id"] == _id(1)
    assert "username" not in answer and "from" not in answer


@live
def test_it_answers_scripted_throttling_with_a_regain_time(
    media_world: SandboxBrand,
) -> None:
    # given
    _media(1)
    media_world.faults = [{"usage": 85}, {"code": 80002, "minutes": 4}]
    media_world.save()
    client = GraphClient(TOKEN)

    # when the first call is served at 85% and the second throttled
    client.tags(BRAND_IG_ID)
    busy = client.last_usage
    with pytest.raises(GraphError) as raised:
        client.tags(BRAND_IG_ID)

    # then
    assert ratelimits.usage_percent(busy) == 85
    assert raised.value.is_throttled
    assert ratelimits.regain_minutes(client.last_usage) == 4
    assert client.tags(BRAND_IG_ID)[0]  # served again afterwards


@live
def test_a_scan_backs_off_on_a_throttled_emulator_and_resumes(
    media_world: SandboxBrand,
) -> None:
    # given a connected brand whose baseline scan has run
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    connection = BrandConnection.objects.create(
        tenant=tenant, ig_user_id=BRAND_IG_ID, page_token=TOKEN
    )
    _media(1)
    assert tags.scan(connection.pk).baseline == 1

    # when a new tag appears and Meta throttles the next call for 2 minutes
    _media(2)
    media_world.faults = [{"code": 4, "minutes": 2}]
    media_world.save()
    throttled = tags.scan(connection.pk)

    # then the scan stops and the brand waits
    connection.refresh_from_db()
    assert throttled.outcome == "throttled"
    assert ratelimits.is_paused(connection)
    assert "throttled until" in ratelimits.describe(connection)

    # and once the wait is over (two minutes later), the tag is found
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_paused_until=timezone.now() - timedelta(seconds=1),
        graph_usage_at=timezone.now() - timedelta(minutes=2),
    )
    assert tags.scan(connection.pk).new == 1
    assert Activity.objects.filter(source_id=_id(2)).exists()
