import logging

import pytest

from socialportal.log_filters import RedactQuerySecrets, redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /sandbox/graph/v25.0/61?fields=name&access_token=EAAB123'
            '&appsecret_proof=ab12 HTTP/1.1" 200 88',
            '"GET /sandbox/graph/v25.0/61?fields=name&access_token=[redacted]'
            '&appsecret_proof=[redacted] HTTP/1.1" 200 88',
        ),
        (
            "GET /webhooks/meta/?hub.mode=subscribe&hub.verify_token=s3cret"
            "&hub.challenge=9",
            "GET /webhooks/meta/?hub.mode=subscribe&hub.verify_token=[redacted]"
            "&hub.challenge=9",
        ),
        (
            "GET /connect/callback/?code=AQBx&state=zz",
            "GET /connect/callback/?code=[redacted]&state=zz",
        ),
        ("GET /admin/?q=encode=1", "GET /admin/?q=encode=1"),
        (
            '"GET /connect/gIcuHx0J-abc_123/ HTTP/1.1" 200 5',
            '"GET /connect/[redacted]/ HTTP/1.1" 200 5',
        ),
        ("Not Found: /connect/gIcuHx0J/", "Not Found: /connect/[redacted]/"),
        ("GET /connect/callback/?state=x", "GET /connect/callback/?state=x"),
        ("POST /connect/choose/", "POST /connect/choose/"),
    ],
)
def test_it_redacts_credentials_in_query_strings(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_rewrites_the_record_it_passes() -> None:
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /?access_token=x", 200),
        None,
    )

    assert RedactQuerySecrets().filter(record) is True

    assert record.getMessage() == '"GET /?access_token=[redacted]" 200'
