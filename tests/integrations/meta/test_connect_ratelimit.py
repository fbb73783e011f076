"""The /connect/ rate limit (integrations/ratelimit.py) as the owner meets it."""

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from integrations.ratelimit import seconds_left
from loyalty.models import Tenant
from socialportal import settings as base_settings
from tests.integrations.meta.onboarding_helpers import Flow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("now", "left"),
    [
        (datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), 600),
        (datetime(2026, 1, 1, 12, 1, 40, tzinfo=UTC), 500),
        (datetime(2026, 1, 1, 12, 9, 59, 500000, tzinfo=UTC), 1),
    ],
)
def test_seconds_left_counts_to_the_end_of_the_window(now: datetime, left: int) -> None:
    assert seconds_left(now, 600) == left


def test_retry_after_is_what_is_left_of_the_window(
    flow: Flow, cedar: Tenant, settings: Any
) -> None:
    # given a window so long that "now" is nowhere near its start
    window = 10**9
    settings.CONNECT_RATE_LIMIT = 1
    settings.CONNECT_RATE_WINDOW = window
    _, path = flow.invite(cedar)
    client = Client()
    client.get(path)

    # when
    refused = client.get(path)

    # then
    expected = window - int(time.time()) % window
    assert refused.status_code == 429
    assert abs(int(refused["Retry-After"]) - expected) <= 2
    assert int(refused["Retry-After"]) < window


def test_a_refused_method_does_not_count(
    flow: Flow, cedar: Tenant, settings: Any
) -> None:
    settings.CONNECT_RATE_LIMIT = 2
    _, path = flow.invite(cedar)
    client = Client()

    refused = [client.put(path).status_code for _ in range(3)]
    refused.append(client.post("/connect/callback/").status_code)
    refused.append(client.get("/connect/choose/").status_code)
    allowed = [client.get(path).status_code for _ in range(3)]

    assert refused == [405] * 5
    assert allowed == [200, 200, 429]


def test_the_default_allows_about_fifteen_attempts_per_ten_minutes() -> None:
    # One attempt: landing, continue, callback, and a choice when several.
    per_attempt = 4
    per_window = (
        base_settings.CONNECT_RATE_LIMIT * 600 / base_settings.CONNECT_RATE_WINDOW
    )

    assert per_window // per_attempt >= 15
