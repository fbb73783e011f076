"""A sandbox TikTok video carrying a tracked hashtag, found by ``scan_tiktok``
over the emulator on the real server and reported to the Loyalty Engine
emulator by the real django-q2 cluster."""

import json
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, attributes_of, wait_for

pytestmark = pytest.mark.e2e

JANE = "cea059ae-6256-4926-b6a9-3f95528b56dd"


def test_a_tracked_tiktok_video_reaches_the_loyalty_engine(
    stack: Stack, tmp_path: Path
) -> None:
    # given a video posted yesterday by Jane (tiktokHandle "janedoe")
    posted = int(time.time()) - 30 * 3600
    world = {
        "tiktok_videos": [
            {
                "id": "7450000000000000001",
                "username": "janedoe",
                "video_description": "Flat white #AcmeCoffee🔥 #fyp",
                "create_time": posted,
                "like_count": 12,
                "comment_count": 4,
            }
        ]
    }
    path = tmp_path / "video.json"
    path.write_text(json.dumps(world))
    for args in (("sandbox_load", str(path)), ("sync_members",)):
        done = stack.manage(*args)
        assert done.returncode == 0, done.stdout + done.stderr

    # when one scan runs now, against the running server's emulator
    scanned = stack.manage("scan_tiktok", "--tenant", "acme")

    # then it says what it did, and the event and attributes arrive
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert " done; " in scanned.stdout and " reported" in scanned.stdout
    events = wait_for(
        lambda: [
            e
            for e in stack.get_json(
                f"/sandbox/loyalty/v1/events?subject={JANE}", "k-acme"
            )["data"]
            if e["payload"].get("caption") == "Flat white #AcmeCoffee🔥 #fyp"
        ],
        1,
    )
    assert events[0]["type"] == "MENTIONED_YOU_SOCIAL"
    assert events[0]["payload"]["platform"] == "tiktok"
    assert events[0]["payload"]["like_count"] == 12
    attributes = wait_for(
        lambda: attributes_of(
            stack.get_json(f"/sandbox/loyalty/v1/users/{JANE}", "k-acme")
        ),
        1,
        key="tiktok_followers",
    )
    assert attributes["tiktok_handle"] == "janedoe"
    assert attributes["tiktok_followers"] == 50

    # and a second scan reports nothing again
    again = stack.manage("scan_tiktok", "--tenant", "acme")
    assert "0 reported" in again.stdout, again.stdout
