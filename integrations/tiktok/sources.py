"""The interface every TikTok source implements, and the registry of sources.

The scanner only speaks this vocabulary: video queries by usernames and
hashtags over UTC days, user profiles, and typed failures. Adding a source (the
member-authorized Display API, a data provider) is one module implementing
``Source`` plus one line in ``SOURCES``.
"""

from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Dotted paths, imported on first use so an unused source costs nothing.
SOURCES = {
    "research": "integrations.tiktok.research.ResearchSource",
}


@dataclass(frozen=True)
class Video:
    # Text, always: TikTok ids exceed 2^53 and must never pass through a float.
    id: str
    username: str
    caption: str
    create_time: int  # UTC epoch seconds
    like_count: int
    comment_count: int
    raw: dict = field(compare=False, repr=False)


@dataclass(frozen=True)
class VideoQuery:
    """Videos created from ``start`` to ``end`` (UTC days) by any of
    ``usernames`` (all users when empty) carrying any of ``hashtags``."""

    start: date
    end: date
    hashtags: tuple[str, ...]
    usernames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    videos: list[Video]
    cursor: int | None
    search_id: str | None
    has_more: bool


@dataclass(frozen=True)
class Profile:
    username: str
    display_name: str
    bio: str
    avatar_url: str
    follower_count: int | None
    following_count: int | None
    is_private: bool


class SourceError(Exception):
    """A failure the scanner records on the scan; ``kind`` names it."""

    kind = "error"


class QuotaExhausted(SourceError):
    """Our own count says today's budget is spent; nothing was sent."""

    kind = "quota"


class RateLimited(SourceError):
    """The provider answered 429: its quota for today is spent."""

    kind = "rate_limited"


class SearchExpired(SourceError):
    """The paging token (``search_id``/``cursor``) was refused: restart the query."""

    kind = "search_expired"


class SourceUnavailable(SourceError):
    """5xx, timeout or unreadable answer, after the source's own bounded retries."""

    kind = "unavailable"


class AccountNotFound(SourceError):
    kind = "not_found"


class Source(Protocol):
    name: str
    #: Videos per page, and how many usernames one query may carry.
    page_size: int
    username_batch: int
    #: The source's daily request quota.
    requests_per_day: int
    #: Running totals: requests, records, retries.
    stats: dict[str, int]

    def query_videos(
        self, query: VideoQuery, cursor: int | None, search_id: str | None
    ) -> Page: ...

    def profile(self, username: str) -> Profile: ...

    def close(self) -> None: ...


def get_source(name: str | None = None) -> Source:
    name = name or settings.TIKTOK_SOURCE
    if name not in SOURCES:
        raise ImproperlyConfigured(f"Unknown TikTok source {name!r}.")
    module, _, attribute = SOURCES[name].rpartition(".")
    return getattr(import_module(module), attribute)()
