"""The task layer around mentions and tags: retries that meet a throttle pause,
and the sweeper that re-queues stalled work."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.instagram import tasks
from integrations.meta.graph import GraphError
from integrations.models import Activity, ActivityStatus, BrandConnection
from loyalty.models import LoyaltyEvent
from tests.integrations.instagram.conftest import FakeGraph, fixture_json

pytestmark = pytest.mark.django_db

Deliver = Callable[[bytes | str], None]


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """What the sweeper queues, recorded instead of run."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "integrations.instagram.tasks.async_task",
        lambda name, pk: calls.append((name.rsplit(".", 1)[-1], pk)),
    )
    return calls


def pause(connection: BrandConnection, until: timedelta) -> None:
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_paused_until=timezone.now() + until
    )


def age(activity: Activity, by: timedelta) -> None:
    Activity.objects.filter(pk=activity.pk).update(seen_at=timezone.now() - by)


def test_an_activity_outlives_a_pause_of_hours_and_is_reported_after_it(
    deliver: Deliver,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
    queued: list[tuple[str, int]],
) -> None:
    # given a brand paused for three hours when a mention arrives
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    pause(connection, timedelta(hours=3))
    deliver("mentions__caption_post")
    activity = Activity.objects.get()

    # when the sweeper runs many times during the pause, and a task is retried
    age(activity, timedelta(hours=1))
    for _ in range(2 * tasks.MAX_ACTIVITY_ATTEMPTS):
        tasks.resume_stalled()
        tasks.resolve_activity(activity.pk)

    # then no attempt was used, nothing was re-queued and no call was made
    activity.refresh_from_db()
    assert (activity.status, activity.attempts) == (ActivityStatus.PENDING, 0)
    assert queued == []
    assert fake_graph.calls == []

    # when the pause is over
    pause(connection, -timedelta(seconds=1))
    tasks.resume_stalled()
    for name, pk in queued:
        assert name == "resolve_activity"
        tasks.resolve_activity(pk)

    # then it is reported
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REPORTED
    assert LoyaltyEvent.objects.count() == 1


def test_a_lookup_throttled_by_meta_uses_no_attempt(
    deliver: Deliver,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
) -> None:
    # given Meta throttles the media lookup
    make_member("@Jane.Doe")
    media_id = fixture_json("graph__mentioned_media_post")["mentioned_media"]["id"]
    fake_graph.media[media_id] = GraphError("(#17) limit", code=17, http_status=400)

    # when
    deliver("mentions__caption_post")

    # then the brand is paused and the activity kept its attempts
    activity = Activity.objects.get()
    assert (activity.status, activity.attempts) == (ActivityStatus.PENDING, 0)
    connection.refresh_from_db()
    assert connection.graph_paused_until > timezone.now()


def test_other_retries_still_count_and_give_up(
    deliver: Deliver,
    connection: BrandConnection,
    make_member: Any,
    fake_graph: FakeGraph,
    queued: list[tuple[str, int]],
) -> None:
    # given Meta answers a temporary error every time
    make_member("@Jane.Doe")
    media_id = fixture_json("graph__mentioned_media_post")["mentioned_media"]["id"]
    fake_graph.media[media_id] = GraphError("try again", code=2, http_status=500)
    deliver("mentions__caption_post")
    activity = Activity.objects.get()
    age(activity, timedelta(minutes=3))

    # when the sweeper retries it until its attempts run out
    for _ in range(tasks.MAX_ACTIVITY_ATTEMPTS):
        tasks.resolve_activity(activity.pk)
    tasks.resume_stalled()

    # then
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.FAILED
