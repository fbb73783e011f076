"""Meta's deauthorize and data deletion callbacks (signed_request)."""

import base64
from typing import Any

import pytest
from django.test import Client

from integrations.meta.signed_request import make_signed_request
from integrations.models import BrandConnection, ConnectionStatus, DataDeletionRequest
from loyalty.models import Tenant

pytestmark = pytest.mark.django_db

OWNER = "10229000000000077"


@pytest.fixture
def connection() -> BrandConnection:
    tenant = Tenant.objects.create(slug="cedar", name="Cedar")
    return BrandConnection.objects.create(
        tenant=tenant, ig_user_id="1784", page_token="EAAsecret", fb_user_id=OWNER
    )


def signed(settings: Any, user_id: str = OWNER, **extra: Any) -> str:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": 1, "user_id": user_id}
    return make_signed_request({**payload, **extra}, settings.META_APP_SECRET)


def test_deauthorize_revokes_that_persons_connections(
    connection: BrandConnection, settings: Any
) -> None:
    response = Client().post("/meta/deauthorize/", {"signed_request": signed(settings)})

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.page_token == ""


def test_data_deletion_erases_tokens_and_answers_a_status_url(
    connection: BrandConnection, settings: Any
) -> None:
    # when
    response = Client().post(
        "/meta/data-deletion/", {"signed_request": signed(settings)}
    )

    # then
    body = response.json()
    assert set(body) == {"url", "confirmation_code"}
    assert body["confirmation_code"].isalnum()
    assert body["url"].endswith(f"/meta/data-deletion/{body['confirmation_code']}/")
    connection.refresh_from_db()
    assert (connection.page_token, connection.fb_user_id) == ("", "")
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert OWNER not in str(DataDeletionRequest.objects.values().get())
    status = Client().get(f"/meta/data-deletion/{body['confirmation_code']}/")
    assert status.status_code == 200
    assert b"Done" in status.content


def test_an_unknown_deletion_code_is_404() -> None:
    assert Client().get("/meta/data-deletion/nope/").status_code == 404


def _tamper(value: str) -> str:
    signature, payload = value.split(".")
    return f"{signature}.{payload[:-2]}AA"


@pytest.mark.parametrize("path", ["/meta/deauthorize/", "/meta/data-deletion/"])
@pytest.mark.parametrize(
    "make",
    [
        lambda s: "",
        lambda s: "no-dot",
        lambda s: _tamper(signed(s)),
        lambda s: make_signed_request({"algorithm": "HMAC-SHA256"}, "wrong-secret"),
        lambda s: make_signed_request(
            {"algorithm": "plain", "user_id": OWNER}, s.META_APP_SECRET
        ),
        lambda s: "!!!." + base64.urlsafe_b64encode(b"{}").decode(),
    ],
)
def test_anything_not_signed_by_meta_is_a_400(
    connection: BrandConnection, settings: Any, path: str, make: Any
) -> None:
    response = Client().post(path, {"signed_request": make(settings)})

    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.page_token == "EAAsecret"
