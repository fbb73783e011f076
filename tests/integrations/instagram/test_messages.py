"""Each DM shape Meta sends, posted to the webhook and followed to the outbox."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from integrations.models import Activity, ActivityKind, ActivityStatus, WebhookDelivery
from loyalty.models import AttributeWrite, FollowStatus, LoyaltyEvent, Member
from tests.integrations.instagram.conftest import (
    JANE_IGSID,
    FakeGraph,
    consent_error,
    fixture_bytes,
    jane_profile,
)

pytestmark = pytest.mark.django_db

Deliver = Callable[[bytes | str], None]


def events() -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.payload) for e in LoyaltyEvent.objects.order_by("id")]


def written_attributes() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for write in AttributeWrite.objects.order_by("id"):
        merged |= write.attributes
    return merged


def test_it_reports_a_text_dm_and_the_follow_it_reveals(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given
    member = make_member("@Jane.Doe")
    fake_graph.discovery["jane.doe"] = {
        "media_count": 14,
        "follows_count": 80,
        "followers_count": 121,
        "biography": "Coffee & cats",
    }

    # when
    deliver("messages__text")

    # then
    assert events() == [
        (
            "DM_YOU_SOCIAL",
            {"platform": "instagram", "message": "Hi! I want to JOIN the club"},
        ),
        ("FOLLOWED_YOU_SOCIAL", {"platform": "instagram"}),
    ]
    event = LoyaltyEvent.objects.first()
    assert event.subject == member.wll_user_id
    assert event.occurred_at.isoformat() == "2025-12-01T09:00:00+00:00"
    assert written_attributes() == {
        "instagram_handle": "Jane.Doe",
        "instagram_followers": 121,
        "instagram_follows_you": True,
        "instagram_firstname": "Jane",
        "instagram_lastname": "Doe",
        "instagram_profile_image": "https://cdn.example/jane.jpg",
        "instagram_verified": True,
        "instagram_posts": 14,
        "instagram_follows": 80,
        "instagram_bio": "Coffee & cats",
        "dm_keyword": "JOIN",
    }
    member.refresh_from_db()
    assert member.igsid == JANE_IGSID
    assert member.linked_at is not None
    assert member.follow_status == FollowStatus.FOLLOWING
    assert member.dm_keyword == "JOIN"


def test_it_asks_for_the_outbox_to_be_drained_once_reported(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    drain_requests: Any,
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__text")

    assert drain_requests.count == 1


def test_it_treats_a_personal_account_without_business_discovery_as_normal(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__text")

    attributes = written_attributes()
    assert "instagram_bio" not in attributes
    assert attributes["instagram_followers"] == 120
    assert Activity.objects.get().status == ActivityStatus.REPORTED


def test_it_reads_text_with_emoji_and_accents_from_the_exact_bytes(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__emoji_accents")

    dm = events()[0]
    assert dm == (
        "DM_YOU_SOCIAL",
        {
            "platform": "instagram",
            "message": "Caf\u00e9 cr\u00e8me \U0001f60d\u2615 \u00fcber gut! "
            "Winter see https://acme.example/menu",
        },
    )
    assert written_attributes()["dm_keyword"] == "Winter"


def test_it_reports_a_story_mention_with_its_cdn_url(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__story_mention")

    mention = [e for e in events() if e[0] == "MENTIONED_YOU_SOCIAL"]
    assert mention == [
        (
            "MENTIONED_YOU_SOCIAL",
            {
                "caption": "",
                "platform": "instagram",
                "media_url": "https://lookaside.fbsbx.com/ig_messaging_cdn/"
                "?asset_id=17900000000000099&signature=AbCdEf",
                "mention_type": "mention",
                "media_type": "story",
            },
        )
    ]
    assert [e[0] for e in events()] == ["MENTIONED_YOU_SOCIAL"]
    assert Activity.objects.get().kind == ActivityKind.STORY_MENTION
    # a mention is not a DM: follows are neither inferred nor written
    assert "instagram_follows_you" not in written_attributes()
    assert Member.objects.get().follow_status == FollowStatus.UNKNOWN


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("messages__echo", ActivityKind.ECHO),
        ("messages__reaction", ActivityKind.REACTION),
        ("messages__read", ActivityKind.READ),
        ("messages__deleted", ActivityKind.DELETED),
        ("messages__postback", ActivityKind.POSTBACK),
    ],
)
def test_it_records_and_ignores_what_is_not_a_member_action(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    fixture: str,
    kind: str,
) -> None:
    make_member("@Jane.Doe")

    deliver(fixture)

    activity = Activity.objects.get()
    assert (activity.kind, activity.status) == (kind, ActivityStatus.IGNORED)
    assert events() == []
    assert AttributeWrite.objects.count() == 0
    assert fake_graph.calls == []


@pytest.mark.parametrize(
    "flag", ['"is_deleted":true', '"is_delete":true', '"deleted":"true"']
)
def test_it_ignores_deleted_messages_however_the_flag_is_spelled(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    flag: str,
) -> None:
    make_member("@Jane.Doe")
    body = fixture_bytes("messages__deleted").replace(
        b'"is_deleted":true', flag.encode()
    )

    deliver(body)

    assert Activity.objects.get().kind == ActivityKind.DELETED
    assert events() == []


def test_it_reports_an_unsupported_attachment_as_a_dm_without_text(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__unsupported_attachment")

    assert events()[0] == ("DM_YOU_SOCIAL", {"platform": "instagram", "message": ""})
    assert "dm_keyword" not in written_attributes()


def test_it_processes_standby_like_messaging(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__standby")

    assert events()[0] == (
        "DM_YOU_SOCIAL",
        {"platform": "instagram", "message": "winter offer?"},
    )
    assert written_attributes()["dm_keyword"] == "Winter"


def test_it_ignores_a_dashboard_test_event(
    deliver: Deliver, connection: Any, fake_graph: FakeGraph
) -> None:
    deliver("messages__dashboard_test")

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "processed"
    assert delivery.summary == {"ignored_test_events": 1}
    assert Activity.objects.count() == 0
    assert events() == []


def test_it_handles_every_item_of_a_two_by_three_batch(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a second tenant's brand and member
    from integrations.models import BrandConnection
    from loyalty.models import Tenant

    bloom = Tenant.objects.create(slug="bloom", name="Bloom")
    BrandConnection.objects.create(
        tenant=bloom, ig_user_id="17841400000000002", page_token="page-token-bloom"
    )
    make_member("@Jane.Doe")
    Member.objects.create(
        tenant=bloom,
        wll_user_id="bob",
        instagram_handle="bob.b",
        instagram_handle_status="valid",
    )
    fake_graph.profiles["6100000000000002"] = jane_profile(
        id="6100000000000002",
        username="bob.b",
        name="Bob",
        is_user_follow_business=False,
    )

    # when
    deliver("messages__batch_2x3")

    # then
    kinds = sorted(Activity.objects.values_list("tenant__slug", "kind", "status"))
    assert kinds == [
        ("acme", "dm", "reported"),
        ("acme", "dm", "reported"),
        ("acme", "echo", "ignored"),
        ("bloom", "dm", "reported"),
        ("bloom", "reaction", "ignored"),
        ("bloom", "read", "ignored"),
    ]
    assert sorted(e.type for e in LoyaltyEvent.objects.all()) == [
        "DM_YOU_SOCIAL",
        "DM_YOU_SOCIAL",
        "DM_YOU_SOCIAL",
        "FOLLOWED_YOU_SOCIAL",
    ]


def test_the_same_delivery_posted_three_times_reports_each_event_once(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")

    for _ in range(3):
        deliver("messages__text")

    assert [e[0] for e in events()] == ["DM_YOU_SOCIAL", "FOLLOWED_YOU_SOCIAL"]
    assert WebhookDelivery.objects.count() == 3
    assert Activity.objects.count() == 1


def test_one_bad_item_does_not_block_its_neighbours(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a DM between a malformed item and an unknown shape
    make_member("@Jane.Doe")
    payload = json.loads(fixture_bytes("messages__text"))
    good = payload["entry"][0]["messaging"][0]
    payload["entry"][0]["messaging"] = [
        "not an object",
        {"sender": {"id": "1"}, "timestamp": "soon", "message": {"mid": "m1"}},
        good,
        {"sender": {"id": JANE_IGSID}, "timestamp": 1764579600000, "surprise": {}},
    ]
    payload["entry"].insert(0, 42)

    # when
    deliver(json.dumps(payload).encode())

    # then
    assert [e[0] for e in events()] == ["DM_YOU_SOCIAL", "FOLLOWED_YOU_SOCIAL"]
    summary = WebhookDelivery.objects.get().summary
    assert summary["malformed_items"] == 2
    assert summary["malformed_entries"] == 1
    assert summary["ignored:unknown"] == 1


def test_it_records_a_sender_without_consent_on_the_activity(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    fake_graph.profiles[JANE_IGSID] = consent_error()

    deliver("messages__text")

    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.FAILED
    assert activity.error_code == "230"
    assert "consent" in activity.error
    assert events() == []


def test_it_records_an_unknown_sender_on_the_activity(
    deliver: Deliver, connection: Any, fake_graph: FakeGraph
) -> None:
    fake_graph.profiles.clear()

    deliver("messages__text")

    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.FAILED
    assert activity.error.startswith("Unknown sender")


def test_it_skips_deliveries_for_accounts_it_does_not_know(
    deliver: Deliver, fake_graph: FakeGraph
) -> None:
    deliver("messages__text")

    assert WebhookDelivery.objects.get().summary == {"unknown_account_items": 1}
    assert Activity.objects.count() == 0


def test_a_nul_character_in_a_dm_is_kept_visible_not_lost(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given: JSON allows \u0000 in strings; PostgreSQL's jsonb does not
    make_member("@Jane.Doe")
    body = fixture_bytes("messages__text").replace(b"the club", b"the \\u0000 club")

    # when
    deliver(body)

    # then
    assert events()[0][1]["message"] == "Hi! I want to JOIN the \ufffd club"
    assert WebhookDelivery.objects.get().status == "processed"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender", {}),
        ("sender", {"id": ""}),
        ("sender", {"id": {"nested": 1}}),
        ("timestamp", 1764579600),
        ("timestamp", -5),
        ("timestamp", True),
        ("timestamp", 99999999999999),
    ],
)
def test_it_counts_implausible_items_as_malformed(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    field: str,
    value: Any,
) -> None:
    make_member("@Jane.Doe")
    payload = json.loads(fixture_bytes("messages__text"))
    payload["entry"][0]["messaging"][0][field] = value

    deliver(json.dumps(payload).encode())

    assert WebhookDelivery.objects.get().summary == {"malformed_items": 1}
    assert Activity.objects.count() == 0


def test_it_reports_no_text_for_a_message_whose_text_is_not_a_string(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    payload = json.loads(fixture_bytes("messages__text"))
    payload["entry"][0]["messaging"][0]["message"]["text"] = {"a": 1}

    deliver(json.dumps(payload).encode())

    assert events()[0] == ("DM_YOU_SOCIAL", {"platform": "instagram", "message": ""})


def test_a_bug_while_resolving_is_recorded_on_the_activity(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    make_member("@Jane.Doe")

    def broken(*args: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr("integrations.instagram.messages._report", broken)

    # when
    deliver("messages__text")

    # then
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.PENDING
    assert activity.error == "internal error: KeyError"
    assert events() == []


def test_a_delivery_with_a_failing_item_is_flagged_for_reprocessing(
    deliver: Deliver,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a bug hit while storing items
    make_member("@Jane.Doe")

    def broken(*args: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("integrations.instagram.deliveries._store", broken)

    # when
    deliver("messages__batch_2x3")

    # then
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.summary["item_errors"] == 3
    assert "3 item(s) failed" in delivery.error


def test_a_throttled_discovery_puts_the_dm_attributes_off_not_the_dm(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given Business Discovery answers with a throttling error
    from integrations.instagram.discovery import DISCOVERY_PENDING
    from integrations.meta.graph import GraphError

    make_member("@Jane.Doe")
    fake_graph.discovery["jane.doe"] = GraphError("limit", code=80002)

    # when
    deliver("messages__text")

    # then the DM is reported now, and the lookup waits for the pause to end
    assert [e[0] for e in events()] == ["DM_YOU_SOCIAL", "FOLLOWED_YOU_SOCIAL"]
    activity = Activity.objects.get()
    assert activity.details[DISCOVERY_PENDING] == "Jane.Doe"
    connection.refresh_from_db()
    assert connection.graph_paused_until is not None


def test_business_discovery_is_asked_once_an_hour_per_member(
    deliver: Deliver, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    make_member("@Jane.Doe")
    fake_graph.discovery["jane.doe"] = {"media_count": 3, "biography": "hi"}

    deliver("messages__text")
    deliver("messages__standby")

    lookups = [call for call in fake_graph.calls if call[0] == "business_discovery"]
    assert len(lookups) == 1
    assert [
        w.attributes.get("instagram_bio") for w in AttributeWrite.objects.all()
    ] == [
        "hi",
        "hi",
    ]
