"""The whole product on one machine: a real web server, a real django-q2 cluster,
the emulators, and a signed DM delivery travelling through all of them.

Nothing is stubbed: the webhook is posted over HTTP, the cluster's workers call
the Graph API and Loyalty Engine emulators over HTTP, and the events are read
back from the emulator the way an operator would.
"""

import json
import time

import pytest

from tests.e2e.conftest import WORLD, Stack, attributes_of, types_of, wait_for

pytestmark = pytest.mark.e2e


def test_a_signed_dm_reaches_the_loyalty_engine_once(stack: Stack) -> None:
    # given the demo world with its members synced into the portal's index
    world = json.loads(WORLD.read_text())
    jane = next(
        user
        for user in world["loyalty_users"]
        if user["profile"]["attributes"].get("instagramHandle") == "@Jane.Doe"
    )
    synced = stack.manage("sync_members")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # when Jane DMs the brand with a keyword, and Meta delivers it twice
    sent = stack.manage(
        "sandbox_send_dm",
        "--tenant", "acme",
        "--from", "jane.doe",
        "--text", "Hello, I'd like to JOIN",
        "--repeat", "2",
        "--url", stack.base_url,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr

    # then the events arrive at the Loyalty Engine emulator, once each
    path = f"/sandbox/loyalty/v1/events?subject={jane['id']}"
    types = wait_for(lambda: types_of(stack.get_json(path, "k-acme")), 2)
    assert sorted(types) == ["DM_YOU_SOCIAL", "FOLLOWED_YOU_SOCIAL"]
    events = stack.get_json(path, "k-acme")["data"]
    dm = next(e for e in events if e["type"] == "DM_YOU_SOCIAL")
    assert dm["payload"] == {
        "platform": "instagram",
        "message": "Hello, I'd like to JOIN",
    }
    assert dm["occurredAt"].endswith("Z")

    # and the member's attributes are written
    attributes = wait_for(
        lambda: attributes_of(
            stack.get_json(f"/sandbox/loyalty/v1/users/{jane['id']}", "k-acme")
        ),
        1,
        key="instagram_verified",
    )
    assert attributes["instagram_handle"] == "jane.doe"
    assert attributes["instagram_follows_you"] is True
    assert attributes["dm_keyword"] == "JOIN"

    # and nothing more arrives on a second look
    time.sleep(3)
    assert sorted(types_of(stack.get_json(path, "k-acme"))) == types
