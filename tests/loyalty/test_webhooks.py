import json
import logging
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django_q.models import OrmQ

from loyalty.models import Tenant
from tests.factories import TenantFactory
from tests.webhook_security import WebhookSecurityTests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loyalty"
URL = "/webhooks/loyalty/acme/"
SECRET = "s3cret-for-acme"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture(autouse=True)
def tenant(db: None) -> Tenant:
    return TenantFactory(slug="acme", webhook_secret=SECRET)


def post(client: Client, body: bytes, secret: str | None = SECRET, **extra: Any) -> Any:
    headers = {} if secret is None else {"X-Webhook-Secret": secret}
    return client.post(
        URL, data=body, content_type="application/json", headers=headers, **extra
    )


class TestLoyaltyWebhookSecurity(WebhookSecurityTests):
    url = URL
    good_body = fixture("webhook__registered_account")
    accepted_status = 202
    refused_status = 401
    signs_body = False

    def auth_headers(self, body: bytes) -> dict[str, str]:
        return {"X-Webhook-Secret": SECRET}

    def forged_headers(self) -> list[dict[str, str]]:
        return [
            {"X-Webhook-Secret": "wrong"},
            {"X-Webhook-Secret": ""},
            {"X-Webhook-Secret": SECRET[:-1]},
            {"X-Webhook-Secret": SECRET + "x"},
            {"X-Webhook-Secret": SECRET.upper()},
            {"X-Webhook-Secret": "sécret-ünïcode"},
            {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        ]

    def accepted_count(self) -> int:
        return OrmQ.objects.count()


def test_it_queues_a_refresh_of_the_subject(client: Client, tenant: Tenant) -> None:
    # when
    response = post(client, fixture("webhook__registered_account"))

    # then
    assert response.status_code == 202
    assert response.json() == {"status": "queued"}
    (queued,) = OrmQ.objects.all()
    task = queued.task
    assert task["func"] == "loyalty.tasks.refresh_member"
    assert task["args"] == (tenant.pk, "auth|1")
    assert "received_at" in task["kwargs"]


def test_it_accepts_a_body_without_payload(client: Client, tenant: Tenant) -> None:
    with mock.patch("loyalty.webhooks.async_task") as async_task:
        response = post(client, fixture("webhook__wll_id_subject"))

    assert response.status_code == 202
    async_task.assert_called_once()
    args = async_task.call_args.args
    assert args == (
        "loyalty.tasks.refresh_member",
        tenant.pk,
        "0b6f6a2e-3c1d-4f0a-9a57-2f1c9d3e8b10",
    )


def test_it_does_not_call_the_loyalty_engine_itself(client: Client) -> None:
    with mock.patch("loyalty.client.LoyaltyClient") as client_class:
        response = post(client, fixture("webhook__registered_account"))

    assert response.status_code == 202
    client_class.assert_not_called()


def test_an_unknown_tenant_reads_like_a_wrong_secret(client: Client) -> None:
    # given a real tenant, and a slug that does not exist
    def post(slug: str) -> Any:
        return client.post(
            f"/webhooks/loyalty/{slug}/",
            data=fixture("webhook__registered_account"),
            content_type="application/json",
            headers={"X-Webhook-Secret": "guess"},
        )

    # when
    unknown, known = post("nobody"), post("acme")

    # then nothing tells the two apart
    assert unknown.status_code == known.status_code == 401
    assert unknown.json() == known.json()
    assert OrmQ.objects.count() == 0


def test_it_is_closed_for_a_tenant_without_a_secret(client: Client) -> None:
    TenantFactory(slug="open", webhook_secret="")

    for headers in ({}, {"X-Webhook-Secret": ""}, {"X-Webhook-Secret": "anything"}):
        response = client.post(
            "/webhooks/loyalty/open/",
            data=fixture("webhook__registered_account"),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 401, headers
    assert OrmQ.objects.count() == 0


def test_it_explains_a_refusal_without_echoing_the_secret(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="loyalty.webhooks")

    response = post(client, fixture("webhook__registered_account"), secret="guess")

    assert response.status_code == 401
    assert "X-Webhook-Secret" in response.json()["error"]
    assert "Rejected WLL webhook" in caplog.text
    assert SECRET not in caplog.text and "guess" not in caplog.text


def test_it_accepts_only_post(client: Client) -> None:
    response = client.get(URL, headers={"X-Webhook-Secret": SECRET})

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b"", "not JSON"),
        (b'["a", "list"]', "not a JSON object"),
        (b'"a string"', "not a JSON object"),
        (b"null", "not a JSON object"),
    ],
)
def test_it_refuses_a_body_that_is_not_a_json_object(
    client: Client, body: bytes, reason: str
) -> None:
    response = post(client, body)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert OrmQ.objects.count() == 0


GOOD = json.loads(fixture("webhook__registered_account"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": None}, "type"),
        ({"type": 12}, "type"),
        ({"reportedAt": None}, "reportedAt"),
        ({"subject": None}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": 42}, "subject"),
        ({"subject": "a" * 513}, "subject"),
        ({"subject": "auth|1\x00"}, "control characters"),
        ({"subject": "auth|1\n"}, "control characters"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"payload": "text"}, "payload"),
    ],
)
def test_it_refuses_a_body_of_the_wrong_shape(
    client: Client, change: dict, reason: str
) -> None:
    body = {**GOOD, **change}
    body = {key: value for key, value in body.items() if value is not None}

    response = post(client, json.dumps(body).encode())

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert OrmQ.objects.count() == 0


def test_it_refuses_a_body_over_one_megabyte(client: Client) -> None:
    padding = "x" * (1024 * 1024)
    body = json.dumps({**GOOD, "payload": {"padding": padding}}).encode()

    response = post(client, body)

    assert response.status_code == 413
    assert OrmQ.objects.count() == 0


def test_it_accepts_a_body_just_under_one_megabyte(client: Client) -> None:
    body = json.dumps({**GOOD, "payload": {"padding": ""}}).encode()
    padding = "x" * (1024 * 1024 - len(body))
    body = json.dumps({**GOOD, "payload": {"padding": padding}}).encode()
    assert len(body) == 1024 * 1024

    response = post(client, body)

    assert response.status_code == 202


def test_it_checks_the_secret_before_reading_the_body(client: Client) -> None:
    response = post(client, b"not json", secret="wrong")

    assert response.status_code == 401
