from pathlib import Path

import pytest
from django.test import Client
from django_q.models import OrmQ

from integrations.meta.signatures import sign
from integrations.models import DeliveryStatus, WebhookDelivery
from tests.webhook_security import WebhookSecurityTests

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta"
URL = "/webhooks/meta/"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def signed(body: bytes, secret: str = "test-app-secret") -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(body, secret)}


class TestMetaWebhookSecurity(WebhookSecurityTests):
    url = URL
    good_body = fixture_bytes("messages__text")

    def auth_headers(self, body: bytes) -> dict[str, str]:
        return signed(body)

    def forged_headers(self) -> list[dict[str, str]]:
        good = sign(self.good_body, "test-app-secret")
        return [
            signed(self.good_body, "another-secret"),
            {"X-Hub-Signature-256": good.removeprefix("sha256=")},
            {"X-Hub-Signature-256": good.replace("sha256=", "sha1=")},
            {"X-Hub-Signature-256": good[:-2]},
            {"X-Hub-Signature-256": "sha256=" + "zz" * 32},
            {"X-Hub-Signature-256": "sha256=" + "\u00e9" * 64},
            {"X-Hub-Signature-256": ""},
        ]

    def accepted_count(self) -> int:
        return WebhookDelivery.objects.count()


def test_it_answers_the_handshake_with_the_challenge(client: Client) -> None:
    response = client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "1158201444",
        },
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token"},
        {},
        {"hub.mode": "subscribe", "hub.verify_token": "t\u00e9st-verify-token"},
    ],
)
def test_it_refuses_a_bad_handshake(client: Client, params: dict[str, str]) -> None:
    response = client.get(URL, {**params, "hub.challenge": "8675309"})

    assert response.status_code == 403
    assert b"8675309" not in response.content


def test_it_refuses_the_handshake_when_no_verify_token_is_configured(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.META_VERIFY_TOKEN = ""

    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )

    assert response.status_code == 403


@pytest.mark.django_db
def test_it_stores_the_exact_bytes_and_queues_processing(client: Client) -> None:
    # given a body with escaped unicode and slashes, signed over its exact bytes
    body = fixture_bytes("messages__emoji_accents")
    assert b"\\u00e9" in body and b"\\/" in body

    # when
    response = client.post(
        URL, data=body, content_type="application/json", headers=signed(body)
    )

    # then
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert delivery.status == DeliveryStatus.RECEIVED
    assert OrmQ.objects.count() == 1


@pytest.mark.django_db
def test_it_keeps_a_signed_body_that_is_not_json_as_rejected(client: Client) -> None:
    body = b"<xml>not json</xml>"

    response = client.post(
        URL, data=body, content_type="application/json", headers=signed(body)
    )

    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.REJECTED
    assert bytes(delivery.body) == body
    assert OrmQ.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'{"entry": "nope"}',
        b"\xff\xfe",
        b'{"entry": [], "n": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_it_rejects_signed_json_of_the_wrong_shape(client: Client, body: bytes) -> None:
    response = client.post(
        URL, data=body, content_type="application/json", headers=signed(body)
    )

    assert response.status_code == 400
    assert WebhookDelivery.objects.get().status == DeliveryStatus.REJECTED


@pytest.mark.django_db
def test_it_refuses_a_body_over_five_megabytes(client: Client) -> None:
    body = b'{"entry": [], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'

    response = client.post(
        URL, data=body, content_type="application/json", headers=signed(body)
    )

    assert response.status_code == 413
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_it_does_not_process_an_unsigned_body_that_is_not_json(client: Client) -> None:
    response = client.post(URL, data=b"garbage", content_type="text/plain")

    assert response.status_code == 403
    assert WebhookDelivery.objects.count() == 0
