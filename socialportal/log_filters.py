"""Log filters that keep credentials out of request lines.

Some credentials travel in URLs by design: Graph API calls carry
``access_token`` and ``appsecret_proof`` in their query strings, Meta's webhook
handshake carries ``hub.verify_token``, and an invitation link is
``/connect/<token>/``. Any server logging request lines or "Not Found: <path>"
warnings, the development server serving the emulators included, would print
them.
"""

import logging
import re

_SECRET_PARAMS = (
    "access_token",
    "appsecret_proof",
    "input_token",
    "client_secret",
    "code",
    "hub.verify_token",
    "fb_exchange_token",
)
_PATTERN = re.compile(
    r"(?P<name>(?:^|[?&;])(?:" + "|".join(map(re.escape, _SECRET_PARAMS)) + r")=)"
    r"[^&\s\"]*"
)


# An invitation token is the path segment after /connect/, except the fixed
# names the onboarding flow itself uses.
_INVITATION = re.compile(r"(?P<name>/connect/)(?!callback/|choose/)[^/\s?\"]+")


def redact(text: str) -> str:
    text = _PATTERN.sub(r"\g<name>[redacted]", text)
    return _INVITATION.sub(r"\g<name>[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
