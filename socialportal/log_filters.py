"""Log filters that keep credentials out of request lines.

Some credentials travel in query strings by the providers' own design: Graph API
calls carry ``access_token`` and ``appsecret_proof``, Meta's webhook handshake
carries ``hub.verify_token``. Any server logging request lines, the development
server serving the emulators included, would print them.
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


def redact(text: str) -> str:
    return _PATTERN.sub(r"\g<name>[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
