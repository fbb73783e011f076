"""Meta's ``signed_request`` (deauthorize and data deletion callbacks).

``<base64url signature>.<base64url JSON payload>``: the HMAC-SHA256 is taken,
with the app secret, over the payload segment exactly as received (still
encoded), and compared in constant time.

Limitation: ``issued_at`` is not checked for age. Meta does not document when or
how often it retries these callbacks, so an age cut-off could drop a genuine
retry; the callbacks are made safe to replay instead.
"""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


class SignedRequestError(ValueError):
    """Not a signed_request we can trust."""


def parse_signed_request(value: str, secret: str) -> dict[str, Any]:
    if not secret or value.count(".") != 1:
        raise SignedRequestError("not two dot-separated parts")
    encoded_signature, encoded_payload = value.split(".", 1)

    signature = _b64decode(encoded_signature)
    expected = hmac.new(secret.encode(), encoded_payload.encode(), hashlib.sha256)
    if not hmac.compare_digest(signature, expected.digest()):
        raise SignedRequestError("signature mismatch")

    try:
        payload = json.loads(_b64decode(encoded_payload))
    except ValueError:
        raise SignedRequestError("payload is not JSON") from None
    if not isinstance(payload, dict) or payload.get("algorithm") != "HMAC-SHA256":
        raise SignedRequestError("unexpected algorithm")
    return payload


def signed_user_id(payload: dict[str, Any]) -> str:
    """The payload's app-scoped ``user_id``: digits only, as a string."""
    value = payload.get("user_id")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise SignedRequestError("user_id is not a string of digits")


def make_signed_request(payload: dict[str, Any], secret: str) -> str:
    """What Meta would send for ``payload`` (tests and the sandbox use it)."""
    encoded = _b64encode(json.dumps(payload).encode())
    digest = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{_b64encode(digest)}.{encoded}"


def _b64decode(segment: str) -> bytes:
    try:
        # Meta strips the "=" padding; put it back before decoding.
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise SignedRequestError("not base64url") from None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
