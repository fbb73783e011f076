"""The Loyalty Engine client, over real HTTP against the emulator."""

import socket
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from loyalty import client as client_module
from loyalty.client import (
    LoyaltyClient,
    LoyaltyNotFoundError,
    LoyaltyRejectedError,
    LoyaltyRetryableError,
    format_occurred_at,
    parse_retry_after,
)
from loyalty.models import SandboxLoyaltyEvent
from tests.factories import (
    SandboxLoyaltyTenantFactory,
    SandboxLoyaltyUserFactory,
    TenantFactory,
)

OCCURRED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAYLOAD = {"platform": "instagram", "message": "JOIN"}


@pytest.fixture
def wll(live_server, monkeypatch) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """A portal tenant pointed at the emulator, its twin there, and one user."""
    cache.clear()
    # Inline GET retries without urllib3's backoff sleeps.
    monkeypatch.setattr(client_module, "GET_BACKOFF_FACTOR", 0)
    remote = SandboxLoyaltyTenantFactory(slug="acme")
    tenant = TenantFactory(
        slug="acme",
        api_base_url=f"{live_server.url}/sandbox/loyalty/v1",
        auth_url=f"{live_server.url}/sandbox/loyalty",
    )
    user = SandboxLoyaltyUserFactory(tenant=remote)
    return SimpleNamespace(remote=remote, tenant=tenant, user=user)


def script(remote, *faults: dict) -> None:  # type: ignore[no-untyped-def]
    remote.faults = list(faults)
    remote.save()


def faults_left(remote) -> list:  # type: ignore[no-untyped-def]
    remote.refresh_from_db()
    return remote.faults


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- occurredAt -------------------------------------------------------------------


def test_it_formats_occurred_at_in_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=paris)

    assert format_occurred_at(moment) == "2026-12-01T09:00:00.123Z"
    assert format_occurred_at(OCCURRED) == "2026-12-01T09:00:00.000Z"


def test_it_refuses_a_naive_occurred_at() -> None:
    with pytest.raises(ValueError):
        format_occurred_at(datetime(2026, 12, 1, 9, 0))


def test_it_reads_retry_after_as_seconds_or_a_date() -> None:
    in_a_minute = datetime.now(UTC) + timedelta(seconds=60)

    assert parse_retry_after("7") == 7.0
    assert 50 < parse_retry_after(format_datetime(in_a_minute, usegmt=True)) <= 60
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- events ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_reports_an_event(wll: SimpleNamespace) -> None:
    # given
    paris = timezone(timedelta(hours=1))
    occurred = datetime(2026, 12, 1, 10, 0, 0, 5000, tzinfo=paris)

    # when
    answer = LoyaltyClient(wll.tenant).report_event(
        "DM_YOU_SOCIAL", wll.user.id, PAYLOAD, occurred
    )

    # then
    assert answer["type"] == "DM_YOU_SOCIAL"
    event = SandboxLoyaltyEvent.objects.get()
    assert event.subject == wll.user.id
    assert event.occurred_at == "2026-12-01T09:00:00.005Z"
    assert event.payload == PAYLOAD


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("event_type", "subject"),
    [
        ("dm_you_social", "s"),
        ("DM2", "s"),
        ("D", "s"),
        ("DM_YOU", ""),
        ("DM", "x" * 129),
    ],
)
def test_it_refuses_a_bad_event_before_sending(
    wll: SimpleNamespace, event_type: str, subject: str
) -> None:
    with pytest.raises(LoyaltyRejectedError) as caught:
        LoyaltyClient(wll.tenant).report_event(event_type, subject, {}, OCCURRED)

    assert caught.value.status == client_module.LOCAL_STATUS
    assert cache.get(LoyaltyClient(wll.tenant)._token_cache_key()) is None


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_reason_of_a_rejection(wll: SimpleNamespace) -> None:
    with pytest.raises(LoyaltyRejectedError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, [1], OCCURRED
        )

    assert caught.value.status == 400
    assert caught.value.reason.startswith("400 Bad Request: payload:")
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_raises_not_found_for_an_unknown_subject(wll: SimpleNamespace) -> None:
    with pytest.raises(LoyaltyNotFoundError) as caught:
        LoyaltyClient(wll.tenant).report_event("DM_YOU_SOCIAL", "nobody", {}, OCCURRED)

    assert caught.value.status == 404
    assert "not found" in caught.value.reason


@pytest.mark.django_db(transaction=True)
def test_it_keeps_secrets_out_of_the_reason(wll: SimpleNamespace) -> None:
    script(wll.remote, {"status": 422, "message": f"bad key {wll.tenant.api_key}"})

    with pytest.raises(LoyaltyRejectedError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )

    assert caught.value.status == 422
    assert wll.tenant.api_key not in caught.value.reason
    assert "[redacted]" in caught.value.reason


@pytest.mark.django_db(transaction=True)
def test_it_does_not_retry_a_post_on_429(wll: SimpleNamespace) -> None:
    # given
    script(wll.remote, {"status": 429, "retry_after": 7}, {"status": 500})

    # when
    with pytest.raises(LoyaltyRetryableError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )

    # then
    assert caught.value.retry_after == 7.0
    assert caught.value.maybe_delivered is False
    assert faults_left(wll.remote) == [{"status": 500}]
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_treats_5xx_as_retryable(wll: SimpleNamespace) -> None:
    script(wll.remote, {"status": 503})

    with pytest.raises(LoyaltyRetryableError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )

    assert caught.value.retry_after is None
    assert "503" in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_it_treats_an_unreachable_api_as_retryable(wll: SimpleNamespace) -> None:
    # given: a token in hand, then the API goes away
    LoyaltyClient(wll.tenant).get_user(wll.user.id)
    wll.tenant.api_base_url = f"http://127.0.0.1:{closed_port()}/v1"

    # when / then
    with pytest.raises(LoyaltyRetryableError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )
    assert caught.value.maybe_delivered is False


@pytest.mark.django_db(transaction=True)
def test_a_post_answered_with_5xx_may_have_been_delivered(
    wll: SimpleNamespace,
) -> None:
    script(wll.remote, {"status": 502, "after_processing": True})

    with pytest.raises(LoyaltyRetryableError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {"n": 1}, OCCURRED
        )

    assert caught.value.maybe_delivered is True
    assert SandboxLoyaltyEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_finds_an_event_already_reported(wll: SimpleNamespace) -> None:
    # given one event for this member, and one at another time
    client = LoyaltyClient(wll.tenant)
    client.report_event("DM_YOU_SOCIAL", wll.user.id, {"n": 1}, OCCURRED)
    later = OCCURRED + timedelta(milliseconds=1)

    # when / then
    found = client.find_event("DM_YOU_SOCIAL", wll.user.id, OCCURRED)
    assert found is not None and found["payload"] == {"n": 1}
    assert client.find_event("DM_YOU_SOCIAL", wll.user.id, later) is None
    assert client.find_event("FOLLOWED_YOU_SOCIAL", wll.user.id, OCCURRED) is None


@pytest.mark.django_db(transaction=True)
def test_it_treats_an_unreachable_token_endpoint_as_retryable(
    wll: SimpleNamespace,
) -> None:
    wll.tenant.auth_url = f"http://127.0.0.1:{closed_port()}"

    with pytest.raises(LoyaltyRetryableError):
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )


# -- admin token ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_caches_the_admin_token(wll: SimpleNamespace) -> None:
    # given: one call mints a token
    LoyaltyClient(wll.tenant).get_user(wll.user.id)

    # when: the credentials stop working, a new client still has the token
    wll.remote.client_secret = "rotated"
    wll.remote.save()
    answer = LoyaltyClient(wll.tenant).report_event(
        "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
    )

    # then
    assert answer["subject"] == wll.user.id


@pytest.mark.django_db(transaction=True)
def test_it_keys_the_token_cache_without_the_secret(wll: SimpleNamespace) -> None:
    key = LoyaltyClient(wll.tenant)._token_cache_key()

    assert wll.tenant.client_secret not in key
    assert str(wll.tenant.pk) in key


@pytest.mark.django_db(transaction=True)
def test_it_refreshes_a_rejected_token_once(wll: SimpleNamespace) -> None:
    # given: a cached token the API no longer accepts
    client = LoyaltyClient(wll.tenant)
    cache.set(client._token_cache_key(), "revoked-token", 3600)

    # when
    answer = client.report_event("DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED)

    # then
    assert answer["subject"] == wll.user.id
    assert cache.get(client._token_cache_key()) not in (None, "revoked-token")


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_a_second_401(wll: SimpleNamespace) -> None:
    script(wll.remote, {"status": 401}, {"status": 401}, {"status": 401})

    with pytest.raises(LoyaltyRejectedError) as caught:
        LoyaltyClient(wll.tenant).report_event(
            "DM_YOU_SOCIAL", wll.user.id, {}, OCCURRED
        )

    assert caught.value.status == 401
    assert faults_left(wll.remote) == [{"status": 401}]


@pytest.mark.django_db(transaction=True)
def test_it_rejects_when_the_credentials_are_wrong(wll: SimpleNamespace) -> None:
    wll.tenant.client_secret = "wrong"

    with pytest.raises(LoyaltyRejectedError) as caught:
        LoyaltyClient(wll.tenant).get_user(wll.user.id)

    assert caught.value.status == 401
    assert "wrong" not in caught.value.reason


# -- users ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_unwraps_a_user(wll: SimpleNamespace) -> None:
    user = LoyaltyClient(wll.tenant).get_user(wll.user.id)

    assert user["id"] == wll.user.id
    assert user["profile"]["attributes"] == {"instagramHandle": "@Jane.Doe"}


def test_it_accepts_single_objects_bare_or_wrapped() -> None:
    assert client_module._unwrap_object({"data": {"id": "a"}}) == {"id": "a"}
    assert client_module._unwrap_object({"id": "a"}) == {"id": "a"}
    assert client_module._unwrap_list({"data": [{"id": "a"}]}) == [{"id": "a"}]


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_get_on_429_and_5xx(wll: SimpleNamespace) -> None:
    script(wll.remote, {"status": 429, "retry_after": 0}, {"status": 502})

    user = LoyaltyClient(wll.tenant).get_user(wll.user.id)

    assert user["id"] == wll.user.id
    assert faults_left(wll.remote) == []


@pytest.mark.django_db(transaction=True)
def test_it_stops_retrying_a_get_after_three_retries(wll: SimpleNamespace) -> None:
    script(wll.remote, *[{"status": 429, "retry_after": 1}] * 4, {"status": 500})

    with pytest.raises(LoyaltyRetryableError) as caught:
        LoyaltyClient(wll.tenant).get_user(wll.user.id)

    assert caught.value.retry_after == 1.0
    assert faults_left(wll.remote) == [{"status": 500}]


@pytest.mark.django_db(transaction=True)
def test_it_lists_users_a_page_at_a_time(wll: SimpleNamespace) -> None:
    more = [SandboxLoyaltyUserFactory(tenant=wll.remote).id for _ in range(3)]
    client = LoyaltyClient(wll.tenant)

    first = client.list_users(limit=2, skip=0)
    rest = client.list_users(limit=2, skip=2)

    assert [user["id"] for user in first + rest] == [wll.user.id, *more]


@pytest.mark.django_db(transaction=True)
def test_it_merges_attributes_into_the_profile(wll: SimpleNamespace) -> None:
    # given: the emulator replaces the attributes object on PATCH
    attributes = {"instagram_handle": "jane.doe", "instagram_followers": 120}

    # when
    LoyaltyClient(wll.tenant).patch_attributes(wll.user.id, attributes)

    # then: the member's own instagramHandle survives
    wll.user.refresh_from_db()
    assert wll.user.profile["attributes"] == {
        "instagramHandle": "@Jane.Doe",
        "instagram_handle": "jane.doe",
        "instagram_followers": 120,
    }


@pytest.mark.django_db(transaction=True)
def test_it_does_not_patch_an_unknown_user(wll: SimpleNamespace) -> None:
    with pytest.raises(LoyaltyNotFoundError):
        LoyaltyClient(wll.tenant).patch_attributes(
            "nobody", {"instagram_verified": True}
        )
