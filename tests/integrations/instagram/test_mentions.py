"""Caption and comment mentions: from the ``mentions`` webhook to the outbox."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    DiscoveryCacheEntry,
    WebhookDelivery,
)
from loyalty.models import AttributeWrite, LoyaltyEvent
from tests.integrations.instagram.conftest import FakeGraph, fixture_json

pytestmark = pytest.mark.django_db

Deliver = Callable[[bytes | str], None]


def payloads() -> list[dict[str, Any]]:
    return [event.payload for event in LoyaltyEvent.objects.order_by("id")]


@pytest.mark.parametrize(
    ("hook", "answer", "media_type", "media_url"),
    [
        (
            "mentions__caption_post",
            "graph__mentioned_media_post",
            "post",
            "https://scontent.cdninstagram.com/v/t51.29350-15/17918195224117851_n.jpg",
        ),
        (
            "mentions__caption_reel",
            "graph__mentioned_media_reel",
            "reel",
            "https://scontent.cdninstagram.com/o1/v/t16/17918195224117852.mp4",
        ),
        (
            "mentions__caption_carousel",
            "graph__mentioned_media_carousel",
            "post",
            "https://scontent.cdninstagram.com/v/t51.29350-15/17918195224117853_n.jpg",
        ),
    ],
)
def test_it_reports_a_caption_mention(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    hook: str,
    answer: str,
    media_type: str,
    media_url: str,
) -> None:
    # given
    member = make_member("@Jane.Doe")
    media = fixture_json(answer)["mentioned_media"]
    fake_graph.media[media["id"]] = media

    # when
    deliver(hook)

    # then
    event = LoyaltyEvent.objects.get()
    assert event.type == "MENTIONED_YOU_SOCIAL"
    assert event.subject == member.wll_user_id
    assert event.payload == {
        "caption": media["caption"],
        "platform": "instagram",
        "media_url": media_url,
        "mention_type": "mention",
        "media_type": media_type,
    }
    assert event.occurred_at.isoformat() == "2026-12-01T09:00:00+00:00"
    assert fake_graph.calls.count(("mentioned_media", media["id"])) == 1
    activity = Activity.objects.get(kind=ActivityKind.MENTION)
    assert activity.status == ActivityStatus.REPORTED
    assert activity.event == event


def test_it_falls_back_to_the_thumbnail_without_a_media_url(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_without_media_url")["mentioned_media"]
    fake_graph.media[media["id"]] = media

    deliver("mentions__caption_reel")

    assert payloads()[0]["media_url"] == media["thumbnail_url"]


def test_it_falls_back_to_the_permalink_and_never_builds_a_url(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_without_media_url")["mentioned_media"]
    fake_graph.media[media["id"]] = {**media, "thumbnail_url": None}

    deliver("mentions__caption_reel")

    assert payloads()[0]["media_url"] == "https://www.instagram.com/reel/DCxReel2/"

    # and with nothing at all, the URL is empty rather than made up
    Activity.objects.all().delete()
    LoyaltyEvent.objects.all().delete()
    bare = {k: v for k, v in media.items() if k not in {"thumbnail_url", "permalink"}}
    fake_graph.media[media["id"]] = bare
    deliver("mentions__caption_reel")
    assert payloads()[0]["media_url"] == ""


def test_it_matches_a_username_whose_case_differs_from_the_handle(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    member = make_member(" JANE.doe ")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = {**media, "username": "Jane.DOE"}

    deliver("mentions__caption_post")

    assert LoyaltyEvent.objects.get().subject == member.wll_user_id
    handle = AttributeWrite.objects.get().attributes["instagram_handle"]
    assert handle == "Jane.DOE"


def test_it_writes_discovery_attributes_but_never_the_follow_flag(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a creator account, whose discovery answer is cached for an hour
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    fake_graph.discovery["jane.doe"] = {
        "media_count": 14,
        "follows_count": 80,
        "followers_count": 121,
        "biography": "Coffee & cats",
        "profile_picture_url": "https://cdn.example/jane.jpg",
    }

    # when she mentions the brand in a caption and then in a reel
    deliver("mentions__caption_post")
    fake_graph.media["17918195224117852"] = {**media, "id": "17918195224117852"}
    deliver("mentions__caption_reel")

    # then both carry her attributes, read from Meta only once
    writes = [write.attributes for write in AttributeWrite.objects.order_by("id")]
    assert writes[0] == {
        "instagram_handle": "Jane.Doe",
        "instagram_posts": 14,
        "instagram_follows": 80,
        "instagram_followers": 121,
        "instagram_bio": "Coffee & cats",
        "instagram_profile_image": "https://cdn.example/jane.jpg",
    }
    assert writes[1] == writes[0]
    assert fake_graph.calls.count(("business_discovery", "Jane.Doe")) == 1
    assert DiscoveryCacheEntry.objects.get().username == "jane.doe"


def test_it_counts_a_redelivered_mention_once(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media

    deliver("mentions__caption_post")
    deliver("mentions__caption_post")

    assert LoyaltyEvent.objects.count() == 1
    assert fake_graph.calls.count(("mentioned_media", media["id"])) == 1


def test_it_records_a_comment_mention_but_reports_no_author(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a member whose handle is the media owner's: still not the commenter
    make_member("someone.else")
    comment = fixture_json("graph__mentioned_comment")["mentioned_comment"]
    fake_graph.comments[comment["id"]] = comment

    # when
    deliver("mentions__comment")

    # then
    activity = Activity.objects.get()
    assert activity.kind == ActivityKind.COMMENT_MENTION
    assert activity.source_id == comment["id"]
    assert activity.status == ActivityStatus.IGNORED
    assert activity.details["comment"]["text"] == "@acmecoffee best beans in town"
    assert LoyaltyEvent.objects.count() == 0


def test_it_reports_a_comment_mention_whose_author_is_known(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    member = make_member("@Jane.Doe")
    comment = fixture_json("graph__mentioned_comment")["mentioned_comment"]
    fake_graph.comments[comment["id"]] = {**comment, "from": {"username": "jane.doe"}}

    deliver("mentions__comment")

    event = LoyaltyEvent.objects.get()
    assert event.subject == member.wll_user_id
    assert event.payload["caption"] == "@acmecoffee best beans in town"
    assert event.payload["mention_type"] == "mention"


def test_it_keeps_a_mention_by_an_unknown_handle_for_rematching(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given no member has the handle yet
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    deliver("mentions__caption_post")
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.UNMATCHED
    assert activity.username == "jane.doe"

    # when she registers it (the member index signals the change)
    make_member("@Jane.Doe")
    from loyalty.models import Member
    from loyalty.signals import member_handles_changed

    member_handles_changed.send(Member, member=Member.objects.get())

    # then the mention is reported without reading the media again
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REPORTED
    assert LoyaltyEvent.objects.get().occurred_at == activity.occurred_at
    assert fake_graph.calls.count(("mentioned_media", media["id"])) == 1


def test_one_bad_change_does_not_stop_its_neighbours(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    comment = fixture_json("graph__mentioned_comment")["mentioned_comment"]
    fake_graph.comments[comment["id"]] = comment

    deliver("mentions__caption_and_comment_batch")

    from integrations.models import WebhookDelivery

    summary = WebhookDelivery.objects.get().summary
    assert summary == {
        "activities:mention": 1,
        "activities:comment_mention": 1,
        "malformed_items": 1,
        "skipped_changes:comments": 1,
    }
    assert LoyaltyEvent.objects.count() == 1


def test_it_fails_a_mention_whose_media_is_gone(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("mentions__caption_post")

    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.FAILED
    assert activity.error_code == "100"


def test_it_fails_a_tag_stored_without_its_media(
    connection: Any, fake_graph: FakeGraph
) -> None:
    from django.utils import timezone

    from integrations.instagram import tasks
    from integrations.models import Platform

    activity = Activity.objects.create(
        tenant=connection.tenant,
        connection=connection,
        platform=Platform.INSTAGRAM,
        kind=ActivityKind.TAG,
        source_id="18000000000000001",
        occurred_at=timezone.now(),
    )

    tasks.resolve_activity(activity.pk)

    activity.refresh_from_db()
    assert (activity.status, activity.error_code) == (ActivityStatus.FAILED, "missing")
    assert fake_graph.calls == []


def test_reporting_keeps_the_attempt_the_task_counted(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media

    deliver("mentions__caption_post")

    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.REPORTED
    assert activity.attempts == 1


def test_an_entry_time_beyond_any_date_is_taken_as_missing(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a delivery whose entry time no datetime can hold
    make_member("@Jane.Doe")
    media = fixture_json("graph__mentioned_media_post")["mentioned_media"]
    fake_graph.media[media["id"]] = media
    body = fixture_json("mentions__caption_post")
    body["entry"][0]["time"] = 99999999999999999999999

    # when
    deliver(json.dumps(body).encode())

    # then the entry's mention is kept and reported
    delivery = WebhookDelivery.objects.get()
    assert delivery.summary == {"activities:mention": 1}
    assert Activity.objects.get().status == ActivityStatus.REPORTED
