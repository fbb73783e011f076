"""Normalizing the social handles members type into their loyalty profile.

Members write ``@Jane.Doe``, `` jane.doe ``, or paste a profile URL; we compare
one canonical form: no ``@``, no URL, casefolded. A handle that cannot be a
username on that platform is reported as invalid rather than guessed at.
"""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from loyalty.models import HandleStatus

# Instagram: letters, digits, "." and "_", at most 30. TikTok: the same, 2-24.
_INSTAGRAM = re.compile(r"[a-z0-9._]{1,30}")
_TIKTOK = re.compile(r"[a-z0-9._]{2,24}")
_INSTAGRAM_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com"}
_TIKTOK_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com"}
# First path segments of Instagram URLs that name a post, reel or page rather
# than a profile: a pasted post link must not make its first segment a handle.
_INSTAGRAM_NOT_PROFILES = {"p", "reel", "reels", "stories", "explore", "tv", "accounts"}


def normalize_instagram(raw: str | None) -> tuple[str, HandleStatus]:
    return _normalize(raw, _INSTAGRAM, _instagram_username_from_url)


def normalize_tiktok(raw: str | None) -> tuple[str, HandleStatus]:
    return _normalize(raw, _TIKTOK, _tiktok_username_from_url)


def _normalize(
    raw: str | None,
    pattern: re.Pattern[str],
    username_from_url: Callable[[str], str | None],
) -> tuple[str, HandleStatus]:
    if raw is None or not str(raw).strip():
        return "", HandleStatus.MISSING

    text = str(raw).strip()
    from_url = username_from_url(text)
    text = text if from_url is None else from_url
    text = text.removeprefix("@").strip()

    # Checked before casefolding: casefold maps some non-ASCII letters (the
    # Kelvin sign, "ß") onto ASCII, which would turn a non-username into one.
    if not text.isascii():
        return "", HandleStatus.INVALID
    text = text.casefold()
    if not pattern.fullmatch(text):
        return "", HandleStatus.INVALID
    return text, HandleStatus.VALID


def _instagram_username_from_url(text: str) -> str | None:
    """``https://www.instagram.com/jane.doe/?hl=en`` -> ``jane.doe``."""
    segment = _first_segment(text, _INSTAGRAM_HOSTS)
    if segment is not None and segment.casefold() in _INSTAGRAM_NOT_PROFILES:
        return ""
    return segment


def _tiktok_username_from_url(text: str) -> str | None:
    """``https://www.tiktok.com/@janedoe/video/1`` -> ``@janedoe``.

    TikTok profile paths always start with "@"; anything else on its hosts (a
    ``vm.tiktok.com`` share code, ``/explore``) names no profile.
    """
    segment = _first_segment(text, _TIKTOK_HOSTS)
    if segment is not None and not segment.startswith("@"):
        return ""
    return segment


def _first_segment(text: str, hosts: set[str]) -> str | None:
    """The first path segment when ``text`` is a URL on one of ``hosts``.

    None when it is not such a URL; "" (never a valid handle) when it is one
    without a path, such as a bare ``instagram.com``.
    """
    candidate = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None
    if (parts.hostname or "").lower() not in hosts:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    return segments[0] if segments else ""
