"""Hashtags: normalizing what onboarding managers type, and matching captions.

TikTok lowercases hashtags and splits tags written together (``#a#b``) but keeps
emoji, accents and other scripts inside a tag (``#Honduras🇭🇳``). We match on
the caption itself, never trusting the source's fuzzy hashtag filter: a caption
tag matches a tracked one when its leading run of word characters, casefolded
and NFKC-normalized, equals it. So ``#AcmeCoffee🔥`` matches ``acmecoffee``,
and ``#acmecoffeeshop`` does not match ``acmecoffee``.
"""

import re
import unicodedata
from collections.abc import Iterable

MAX_LENGTH = 100
# A tag runs from "#" to the next whitespace or "#" (so "#a#b" is two tags).
_CAPTION_TAG = re.compile(r"#+([^\s#]+)")
# Word characters, plus the combining marks some scripts need inside a word
# (e.g. Devanagari vowel signs, the Japanese "゚").
_WORD = re.compile(r"(?:\w|[\u0300-\u036f\u0900-\u0dff\u3099-\u309c])+")

HASHTAG_ERROR = (
    "A hashtag is one word of letters, digits or “_” (any script), without "
    "spaces, at most 100 characters; a leading “#” is dropped."
)


class InvalidHashtag(ValueError):
    """What an onboarding manager typed cannot be a hashtag."""


def fold(text: str) -> str:
    """The form two hashtags are compared in: NFKC, casefolded, NFKC again."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalize_hashtag(raw: str) -> str:
    """``" #AcmeCoffee "`` -> ``"acmecoffee"``; raises InvalidHashtag."""
    text = fold(raw.strip()).lstrip("#")
    if not text or len(text) > MAX_LENGTH or not _WORD.fullmatch(text):
        raise InvalidHashtag(HASHTAG_ERROR)
    return text


def caption_hashtags(caption: str) -> list[str]:
    """The word part of every ``#tag`` in ``caption``, folded, in caption order."""
    found: list[str] = []
    for match in _CAPTION_TAG.finditer(fold(caption or "")):
        word = _WORD.match(match.group(1))
        if word and word.group() not in found:
            found.append(word.group())
    return found


def matching(caption: str, tracked: Iterable[str]) -> list[str]:
    """The tracked hashtags ``caption`` carries, in caption order."""
    wanted = set(tracked)
    return [tag for tag in caption_hashtags(caption) if tag in wanted]
