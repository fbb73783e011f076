"""Mentions and tags through the real server and cluster: a signed ``mentions``
webhook and a tag scan, each reaching the Loyalty Engine emulator once."""

import json
import time

import pytest

from tests.e2e.conftest import ROOT, WORLD, Stack, wait_for

pytestmark = pytest.mark.e2e

NEW_TAG = ROOT / "integrations" / "sandbox" / "demo-new-tag.json"


def _member_id(handle_part: str) -> str:
    world = json.loads(WORLD.read_text())
    return next(
        user["id"]
        for user in world["loyalty_users"]
        if handle_part in user["profile"]["attributes"].get("instagramHandle", "")
    )


def _events(stack: Stack, subject: str) -> list[dict]:
    path = f"/sandbox/loyalty/v1/events?subject={subject}"
    return stack.get_json(path, "k-acme")["data"]


def _scan_until_done(stack: Stack) -> str:
    """Run the scan command until it is not told another scan holds the brand."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = stack.manage("scan_instagram_tags", "--tenant", "acme")
        assert done.returncode == 0, done.stdout + done.stderr
        if "busy" not in done.stdout:
            return done.stdout
        time.sleep(0.5)
    pytest.fail("The brand stayed busy")


def test_a_mention_and_a_new_tag_reach_the_loyalty_engine_once(stack: Stack) -> None:
    # given the members synced, and the brand's existing tags as a baseline
    synced = stack.manage("sync_members")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "scanned" in _scan_until_done(stack)

    # when a creator whose handle differs in case mentions the brand, twice sent
    sent = stack.manage(
        "sandbox_send_mention",
        "--tenant", "acme",
        "--media", "18045872913500101",
        "--repeat", "2",
        "--url", stack.base_url,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr

    # then one caption mention event arrives
    lola = _member_id("Latte.Lover")
    mention = wait_for(lambda: _events(stack, lola), 1)[0]
    assert mention["type"] == "MENTIONED_YOU_SOCIAL"
    assert mention["payload"] == {
        "caption": "Morning flat white with @acmecoffee \u2615 #latteart",
        "platform": "instagram",
        "media_url": (
            "https://scontent.cdninstagram.com/v/t51.29350-15/18045872913500101_n.jpg"
        ),
        "mention_type": "mention",
        "media_type": "post",
    }
    assert mention["occurredAt"] == "2026-12-01T09:00:00.000Z"

    # when a new tag appears in the world and the brand is scanned
    loaded = stack.manage("sandbox_load", str(NEW_TAG))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    _scan_until_done(stack)

    # then the tag's event arrives, with the thumbnail standing in for the URL
    sam = _member_id("some.one")
    tag = wait_for(lambda: _events(stack, sam), 1)[0]
    assert tag["payload"]["mention_type"] == "tag"
    assert tag["payload"]["media_type"] == "reel"
    assert tag["payload"]["media_url"].endswith("18045872913500105_n.jpg")

    # and nothing more arrives on a second scan and a second look
    _scan_until_done(stack)
    time.sleep(3)
    assert len(_events(stack, lola)) == 1
    assert len(_events(stack, sam)) == 1
