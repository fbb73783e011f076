"""Meta's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret.

The signature covers the bytes exactly as sent (Meta escapes non-ASCII as
``\\uXXXX``), so it is checked against ``request.body``, never against JSON we
re-serialized.
"""

import hashlib
import hmac
import re

_HEADER = re.compile(r"sha256=([0-9a-fA-F]{64})")


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def is_valid_signature(body: bytes, header: str | None, secret: str) -> bool:
    # The header is checked for shape first: compare_digest refuses non-ASCII
    # strings with a TypeError, which must be a 403, not a 500.
    if not header or not secret:
        return False
    match = _HEADER.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())
