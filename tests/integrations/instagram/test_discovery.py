"""Business Discovery as enrichment: cached, and when throttled, put off until
the brand's pause is over without holding back the event."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.instagram import discovery, tasks
from integrations.instagram.discovery import DISCOVERY_PENDING
from integrations.meta.graph import GraphError
from integrations.models import Activity, ActivityStatus, BrandConnection
from loyalty.models import AttributeWrite, LoyaltyEvent
from tests.integrations.instagram.conftest import BRAND_IG_ID, FakeGraph, fixture_json

pytestmark = pytest.mark.django_db

Deliver = Callable[[bytes | str], None]

JANE_DISCOVERED = {
    "media_count": 14,
    "follows_count": 80,
    "followers_count": 121,
    "biography": "Coffee & cats",
}


def regain_in(minutes: int) -> dict[str, Any]:
    entry = {"type": "instagram", "call_count": 100}
    return {
        "app": {"call_count": 100},
        "business_use_case": {
            BRAND_IG_ID: [entry | {"estimated_time_to_regain_access": minutes}]
        },
    }


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002])
def test_a_throttled_lookup_pauses_the_brand_until_meta_says(
    connection: BrandConnection, fake_graph: FakeGraph, code: int
) -> None:
    # given Meta throttles Business Discovery and says to wait 30 minutes
    fake_graph.discovery["jane.doe"] = GraphError("limit", code=code)
    fake_graph.last_usage = regain_in(30)

    # when
    found = discovery.discover(fake_graph, connection, "Jane.Doe")

    # then the answer is put off and the pause recorded
    assert found is None
    connection.refresh_from_db()
    pause = connection.graph_paused_until - timezone.now()
    assert timedelta(minutes=29) < pause <= timedelta(minutes=30)
    assert connection.graph_usage == regain_in(30)


def test_no_lookup_is_made_while_the_brand_is_paused(
    connection: BrandConnection, fake_graph: FakeGraph
) -> None:
    connection.graph_paused_until = timezone.now() + timedelta(minutes=5)
    fake_graph.discovery["jane.doe"] = JANE_DISCOVERED

    assert discovery.discover(fake_graph, connection, "Jane.Doe") is None
    assert fake_graph.calls == []


def test_a_throttled_lookup_reports_the_event_and_adds_the_attributes_later(
    deliver: Deliver,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given Business Discovery is throttled when Jane mentions the brand
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    fake_graph.discovery["jane.doe"] = GraphError("limit", code=4)
    fake_graph.last_usage = regain_in(20)
    monkeypatch.setattr("integrations.instagram.mentions.GraphClient", fake_graph)
    monkeypatch.setattr("integrations.instagram.discovery.GraphClient", fake_graph)

    # when
    deliver("mentions__caption_post")

    # then the event is out at once, with the handle but not yet the rest
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.REPORTED
    assert LoyaltyEvent.objects.count() == 1
    assert [w.attributes for w in AttributeWrite.objects.all()] == [
        {"instagram_handle": "Jane.Doe"}
    ]
    assert activity.details[DISCOVERY_PENDING] == "Jane.Doe"

    # and the sweeper leaves the lookup alone during the pause
    queued: list[int] = []
    monkeypatch.setattr(
        "integrations.instagram.tasks.async_task", lambda name, pk: queued.append(pk)
    )
    tasks.resume_stalled()
    assert queued == []

    # when the pause is over
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_paused_until=timezone.now() - timedelta(seconds=1)
    )
    fake_graph.discovery["jane.doe"] = JANE_DISCOVERED
    tasks.resume_stalled()
    results = [tasks.refresh_activity_attributes(pk) for pk in queued * 2]

    # then the attributes follow, once
    assert queued == [activity.pk]
    assert results[1].endswith("nothing to refresh")
    writes = [w.attributes for w in AttributeWrite.objects.order_by("id")]
    assert writes[1] == {
        "instagram_posts": 14,
        "instagram_follows": 80,
        "instagram_followers": 121,
        "instagram_bio": "Coffee & cats",
    }
    assert len(writes) == 2
    activity.refresh_from_db()
    assert DISCOVERY_PENDING not in activity.details
    assert LoyaltyEvent.objects.count() == 1


def test_a_tag_is_reported_during_a_pause_and_its_lookup_put_off(
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
) -> None:
    # given a tag found before the brand was paused, its media already read
    make_member("@Jane.Doe")
    media = fixture_json("graph__tags_page_1")["data"][0]
    activity = Activity.objects.create(
        tenant=connection.tenant,
        connection=connection,
        platform="instagram",
        kind="tag",
        source_id=media["id"],
        occurred_at=timezone.now(),
        raw=media,
        details={"media": media},
    )
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_paused_until=timezone.now() + timedelta(hours=1)
    )

    # when
    tasks.resolve_activity(activity.pk)

    # then the event is out, no Graph call made, the lookup left for later
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REPORTED
    assert LoyaltyEvent.objects.count() == 1
    assert activity.details[DISCOVERY_PENDING] == "jane.doe"
    assert fake_graph.calls == []
