"""Instagram messaging webhook items, mapped onto our activity vocabulary.

Meta's ``messaging[]`` (and ``standby[]``) items say what happened by which key
they carry (``message``, ``reaction``, ``read``, ...), never by a type field, so
the item is dispatched on the key present. Anything we do not recognise becomes
``ActivityKind.UNKNOWN``: stored, never reported, never raised.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.models import ActivityKind

# Kinds that may earn an event; everything else is recorded and ignored.
REPORTABLE = {ActivityKind.DM, ActivityKind.STORY_MENTION}

_NUMERIC_ID = re.compile(r"\d{1,32}")
# 2001-09-09 in milliseconds: anything smaller is seconds or nonsense.
_EARLIEST_MILLIS = 10**12
# Clocks drift; a day ahead is already generous.
_FUTURE_TOLERANCE = 24 * 60 * 60

# Meta has spelled the unsend flag more than one way across versions and pages.
_DELETED_FLAGS = ("is_deleted", "is_delete", "deleted")


class MalformedItem(ValueError):
    """The item lacks what every messaging item has (a sender, a message id)."""


@dataclass(frozen=True)
class MessagingItem:
    kind: ActivityKind
    source_id: str
    sender_id: str
    occurred_at: datetime
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_reportable(self) -> bool:
        return self.kind in REPORTABLE


def classify(item: Any, brand_id: str) -> MessagingItem:
    """What one ``messaging[]`` item is, for the brand account ``brand_id``."""
    if not isinstance(item, dict):
        raise MalformedItem("A messaging item is not an object.")

    sender_id = _sender_id(item)
    occurred_at = _from_millis(item.get("timestamp"))
    for key, handler in _HANDLERS.items():
        if isinstance(item.get(key), dict):
            kind, source_id, details = handler(item[key], sender_id, brand_id)
            return MessagingItem(kind, source_id, sender_id, occurred_at, details)

    return MessagingItem(
        ActivityKind.UNKNOWN,
        _fallback_id(item, sender_id),
        sender_id,
        occurred_at,
        {"keys": sorted(item)},
    )


Normalized = tuple[ActivityKind, str, dict[str, Any]]


def _message(message: dict[str, Any], sender_id: str, brand_id: str) -> Normalized:
    mid = _require_mid(message)
    # An echo is the brand's own message: the ids are swapped, and Meta flags it.
    if message.get("is_echo") or (brand_id and sender_id == brand_id):
        return ActivityKind.ECHO, mid, {}
    if any(_truthy(message.get(flag)) for flag in _DELETED_FLAGS):
        return ActivityKind.DELETED, mid, {}

    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    story = next((a for a in attachments if a.get("type") == "story_mention"), None)
    if story is not None:
        # Story media may not be downloaded or stored: keep the CDN URL only.
        url = _dig(story, "payload", "url")
        return ActivityKind.STORY_MENTION, mid, {"media_url": _text(url)}

    details: dict[str, Any] = {
        "text": _text(message.get("text")),
        "attachment_types": [str(a.get("type", "")) for a in attachments],
    }
    if message.get("is_unsupported"):
        details["is_unsupported"] = True
    return ActivityKind.DM, mid, details


def _reaction(reaction: dict[str, Any], sender_id: str, brand_id: str) -> Normalized:
    mid = _require_mid(reaction)
    action = str(reaction.get("action") or "react")
    # One message can be reacted to, unreacted and reacted to again.
    return ActivityKind.REACTION, f"{mid}:{sender_id}:{action}", {"action": action}


def _read(read: dict[str, Any], sender_id: str, brand_id: str) -> Normalized:
    return ActivityKind.READ, f"{_require_mid(read)}:{sender_id}", {}


def _postback(postback: dict[str, Any], sender_id: str, brand_id: str) -> Normalized:
    mid = str(postback.get("mid") or "")
    source_id = mid or f"{sender_id}:{postback.get('title', '')}"
    return ActivityKind.POSTBACK, source_id, {"title": postback.get("title", "")}


def _referral(referral: dict[str, Any], sender_id: str, brand_id: str) -> Normalized:
    ref = str(referral.get("ref") or referral.get("source") or "")
    return (
        ActivityKind.REFERRAL,
        f"{sender_id}:{ref}",
        {"source": referral.get("source")},
    )


_HANDLERS: dict[str, Callable[[dict[str, Any], str, str], Normalized]] = {
    "message": _message,
    "reaction": _reaction,
    "read": _read,
    "postback": _postback,
    "referral": _referral,
}


def _require_mid(event: dict[str, Any]) -> str:
    mid = event.get("mid")
    if not isinstance(mid, str) or not mid:
        raise MalformedItem("The item has no message id ('mid').")
    return mid


def _fallback_id(item: dict[str, Any], sender_id: str) -> str:
    return f"{sender_id}:{item.get('timestamp', '')}"


def _sender_id(item: dict[str, Any]) -> str:
    # IGSIDs and account ids are numeric strings; without one there is nobody
    # to attribute the item to.
    value = _dig(item, "sender", "id")
    text = str(value) if isinstance(value, str | int) and value is not True else ""
    if not _NUMERIC_ID.fullmatch(text):
        raise MalformedItem("The item has no numeric sender id.")
    return text


def _from_millis(value: Any) -> datetime:
    """Messaging timestamps are epoch milliseconds (``changes`` use seconds).

    Seconds, negative numbers or booleans would become dates in 1970 and be
    reported as such, so anything outside a plausible range is refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedItem("The item's timestamp is not epoch milliseconds.")
    try:
        millis = int(value)
    except ValueError:
        raise MalformedItem("The item's timestamp is not epoch milliseconds.") from None
    latest = (time.time() + _FUTURE_TOLERANCE) * 1000
    if not _EARLIEST_MILLIS <= millis <= latest:
        raise MalformedItem("The item's timestamp is not plausible epoch milliseconds.")
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
