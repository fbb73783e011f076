"""Hashtags: normalizing what onboarding managers type, and matching captions.

TikTok lowercases hashtags and splits tags written together (``#a#b``) but keeps
emoji, accents and other scripts inside a tag (``#Honduras🇭🇳``). We match on
the caption itself, never trusting the source's fuzzy hashtag filter.

A tag's word is the run of word characters after its ``#`` (or ``##``): Unicode
letters, marks, numbers, ``_`` and the zero-width (non-)joiners some scripts
write inside words (Persian, Indic). Two words are the same when they are equal
casefolded and NFKC-normalized. So ``#AcmeCoffee🔥`` matches ``acmecoffee``,
and ``#acmecoffeeshop`` does not. A ``#`` counts only where a tag can start:
at the beginning, after a character that is not a word character, or right
after another tag's word (``#fyp#acmecoffee``); never glued to a plain word
(``menu#acmecoffee``) nor inside a link.
"""

import re
import unicodedata
from collections.abc import Iterable

MAX_LENGTH = 100
# Written inside words by Persian, Urdu, Indic scripts and others.
_JOINERS = frozenset("\u200c\u200d")
# Links are removed before reading tags: a "#" there is a page anchor.
_LINK = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S*", re.IGNORECASE)

HASHTAG_ERROR = (
    "A hashtag is one word of letters, digits or “_” (any script, with its "
    "accents and marks), without spaces, at most 100 characters; a leading "
    "“#” is dropped."
)


class InvalidHashtag(ValueError):
    """What an onboarding manager typed cannot be a hashtag."""


def fold(text: str) -> str:
    """The form two hashtags are compared in: NFKC, casefolded, NFKC again."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalize_hashtag(raw: str) -> str:
    """``" #AcmeCoffee "`` -> ``"acmecoffee"``; raises InvalidHashtag.

    Stored lowercased, not casefolded: the source's filter gets the stored
    value, and TikTok's index is lowercased (``Straße`` stays ``straße``,
    where casefolding would send ``strasse``). Comparisons fold both sides.
    """
    text = unicodedata.normalize("NFKC", raw.strip()).lower().lstrip("#")
    if not text or len(text) > MAX_LENGTH or not _is_word(text):
        raise InvalidHashtag(HASHTAG_ERROR)
    return text


def caption_hashtags(caption: str) -> list[str]:
    """The word part of every ``#tag`` in ``caption``, folded, in caption order."""
    text = _LINK.sub(" ", fold(caption or ""))
    found: list[str] = []
    position, word_end = 0, -1
    while (start := text.find("#", position)) != -1:
        hashes_end = start
        while hashes_end < len(text) and text[hashes_end] == "#":
            hashes_end += 1
        end = hashes_end
        while end < len(text) and _is_word_char(text[end]):
            end += 1
        if _can_start(text, start, word_end):
            word = text[hashes_end:end].rstrip("".join(_JOINERS))
            if word and word not in found:
                found.append(word)
            word_end = end
        position = max(end, start + 1)
    return found


def matching(caption: str, tracked: Iterable[str]) -> list[str]:
    """The tracked hashtags ``caption`` carries, in caption order."""
    wanted = {fold(tag): tag for tag in tracked}
    return [wanted[tag] for tag in caption_hashtags(caption) if tag in wanted]


def _can_start(text: str, start: int, word_end: int) -> bool:
    """Whether the ``#`` at ``start`` begins a tag rather than sitting in a word."""
    return start == 0 or start == word_end or not _is_word_char(text[start - 1])


def _is_word(text: str) -> bool:
    return all(_is_word_char(char) for char in text)


def _is_word_char(char: str) -> bool:
    # L* letters, M* marks (Thai, Myanmar, Arabic vowel signs), N* numbers.
    return char == "_" or char in _JOINERS or unicodedata.category(char)[0] in "LMN"
