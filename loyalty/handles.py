"""Normalizing the social handles members type into their loyalty profile.

Members write ``@Jane.Doe``, `` jane.doe ``, or paste a profile URL; we compare
one canonical form: no ``@``, no URL, casefolded. A handle that cannot be a
username on that platform is reported as invalid rather than guessed at.
"""

import re
from urllib.parse import urlsplit

from loyalty.models import HandleStatus

# Instagram: letters, digits, "." and "_", at most 30. TikTok: the same, 2-24.
_INSTAGRAM = re.compile(r"[a-z0-9._]{1,30}")
_TIKTOK = re.compile(r"[a-z0-9._]{2,24}")
_INSTAGRAM_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com"}
_TIKTOK_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com"}


def normalize_instagram(raw: str | None) -> tuple[str, HandleStatus]:
    return _normalize(raw, _INSTAGRAM, _INSTAGRAM_HOSTS)


def normalize_tiktok(raw: str | None) -> tuple[str, HandleStatus]:
    return _normalize(raw, _TIKTOK, _TIKTOK_HOSTS)


def _normalize(
    raw: str | None, pattern: re.Pattern[str], hosts: set[str]
) -> tuple[str, HandleStatus]:
    if raw is None or not str(raw).strip():
        return "", HandleStatus.MISSING

    text = str(raw).strip()
    text = _username_from_url(text, hosts) or text
    text = text.removeprefix("@").strip().casefold()

    if not pattern.fullmatch(text):
        return "", HandleStatus.INVALID
    return text, HandleStatus.VALID


def _username_from_url(text: str, hosts: set[str]) -> str | None:
    """``https://www.instagram.com/jane.doe/?hl=en`` -> ``jane.doe``."""
    candidate = text if "://" in text else f"https://{text}"
    parts = urlsplit(candidate)
    if (parts.hostname or "").lower() not in hosts:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    return segments[0] if segments else ""
