"""How TikTok's index turns a caption into ``hashtag_names`` (Research API docs):
lowercased, tags written together split, ``##`` collapsed, a lone ``#``
dropped, emoji and other scripts kept inside the tag."""

import re

_TAG = re.compile(r"#+([^\s#]+)")


def hashtag_names(caption: str) -> list[str]:
    names: list[str] = []
    for match in _TAG.finditer(caption or ""):
        name = match.group(1).lower()
        if name not in names:
            names.append(name)
    return names


def hashtag_index(caption: str) -> str:
    """``"|acmecoffee🔥|fyp|"``: searchable with one LIKE per tag."""
    names = hashtag_names(caption)
    return f"|{'|'.join(names)}|" if names else ""
