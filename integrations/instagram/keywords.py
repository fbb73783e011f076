"""DM keywords: which of the tenant's words a member's message uses.

A keyword matches as a whole word, in any case; when several appear, the one
earliest in the text wins.
"""

import re
from collections.abc import Iterable


def first_keyword(text: str, keywords: Iterable[str]) -> str | None:
    """The keyword (as the tenant spelled it) found earliest in ``text``."""
    best: tuple[int, str] | None = None
    for keyword in keywords:
        if not keyword:
            continue
        # \w-boundaries by hand: \b misbehaves around keywords ending in symbols.
        pattern = rf"(?<!\w){re.escape(keyword)}(?!\w)"
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), keyword)
    return best[1] if best else None
