"""What an Instagram media object (read through ``tags`` or ``mentioned_media``)
becomes in a ``MENTIONED_YOU_SOCIAL`` event."""

from datetime import datetime
from typing import Any

from django.db import models


class MediaKind(models.TextChoices):
    """The event's ``media_type``: our words for Meta's ``media_product_type``."""

    POST = "post", "post"
    REEL = "reel", "reel"
    STORY = "story", "story"


# FEED, AD and anything Meta adds later read as a post. ``media_product_type``
# is not documented for ``mentioned_media`` (INFERENCE: it is requested, and an
# answer without it is taken for a post, as a VIDEO may be a feed video).
_PRODUCT_TYPES = {"REELS": MediaKind.REEL, "STORY": MediaKind.STORY}


def media_kind(media: dict[str, Any]) -> MediaKind:
    return _PRODUCT_TYPES.get(str(media.get("media_product_type", "")), MediaKind.POST)


def media_url(media: dict[str, Any]) -> str:
    """The media's URL, else its thumbnail, else its permalink, else "".

    Meta leaves ``media_url`` out for videos with licensed audio and reels whose
    owner turned downloads off. A URL is never built from the numeric id: public
    Instagram URLs use shortcodes, which the API does not return here.
    """
    for key in ("media_url", "thumbnail_url", "permalink"):
        value = media.get(key)
        if isinstance(value, str) and value.startswith("https://"):
            return value
    return ""


def event_payload(media: dict[str, Any], mention_type: str) -> dict[str, str]:
    caption = media.get("caption")
    return {
        "caption": caption if isinstance(caption, str) else "",
        "platform": "instagram",
        "media_url": media_url(media),
        "mention_type": mention_type,
        "media_type": media_kind(media).value,
    }


def parse_time(value: Any) -> datetime | None:
    """Graph API time (``2026-12-01T09:00:00+0000``); None if absent or odd."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
