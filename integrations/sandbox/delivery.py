"""Instagram messaging webhook deliveries, shaped and serialized the way Meta
sends them (Meta's Instagram messaging webhook reference), for ``sandbox_send_dm``.
"""

import base64
import json
import secrets
import time
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_mid(brand_ig_id: str) -> str:
    """A unique message id in the look of Meta's.

    INFERENCE: real mids are unpadded base64 of an "ig_message_item:..." string
    (hence their "aWdf" start); Meta does not document the format, and nothing
    may rely on it.
    """
    number = secrets.randbelow(10**38) + 10**38
    raw = f"ig_message_item:1:IGMessageThread:{brand_ig_id}:{number}"
    return base64.b64encode(raw.encode()).decode().rstrip("=")


def story_cdn_url() -> str:
    # Story mentions carry a signed lookaside CDN URL; this one only looks like
    # it. Story media may never be downloaded, so nothing fetches it.
    asset = secrets.randbelow(10**16) + 17_000_000_000_000_000
    return (
        "https://lookaside.fbsbx.com/ig_messaging_cdn/"
        f"?asset_id={asset}&signature={secrets.token_urlsafe(32)}"
    )


def dm_delivery(
    brand_ig_id: str,
    sender_igsid: str,
    text: str | None = None,
    story_url: str | None = None,
    sent_ms: int | None = None,
) -> tuple[dict[str, Any], str]:
    """One ``object: instagram`` delivery holding one DM; returns it and its mid."""
    sent_ms = sent_ms if sent_ms is not None else now_ms()
    mid = new_mid(brand_ig_id)
    message: dict[str, Any] = {"mid": mid}
    if story_url is not None:
        message["attachments"] = [
            {"type": "story_mention", "payload": {"url": story_url}}
        ]
    else:
        message["text"] = text or ""

    item = {
        "sender": {"id": sender_igsid},
        "recipient": {"id": brand_ig_id},
        # The item's timestamp is when the user sent it; entry.time is when Meta
        # sent the notification, a moment later. Both in milliseconds here.
        "timestamp": sent_ms,
        "message": message,
    }
    entry = {"time": sent_ms + 250, "id": brand_ig_id, "messaging": [item]}
    return {"object": "instagram", "entry": [entry]}, mid


def serialize_like_meta(payload: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII as ``\\uXXXX`` and ``/`` escaped as ``\\/``.

    The signature covers these exact bytes, which is what makes non-ASCII text
    a real test of a receiver that verifies the raw body.
    """
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # Outside strings JSON has no "/", so this only touches string contents,
    # where "\/" is a valid escape for "/".
    return text.replace("/", "\\/").encode("ascii")


def mention_delivery(
    brand_ig_id: str, media_id: str, comment_id: str | None = None
) -> dict[str, Any]:
    """One ``mentions`` delivery (Meta's mentions webhook): ids only, no author.

    Content webhooks give ``entry.time`` in seconds, unlike messaging ones.
    """
    value = {"media_id": media_id}
    if comment_id is not None:
        value = {"comment_id": comment_id, "media_id": media_id}
    change = {"field": "mentions", "value": value}
    entry = {"id": brand_ig_id, "time": int(time.time()), "changes": [change]}
    return {"object": "instagram", "entry": [entry]}
