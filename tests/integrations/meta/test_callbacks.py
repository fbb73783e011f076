"""Meta's deauthorize and data deletion callbacks (signed_request)."""

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.meta.signed_request import make_signed_request
from integrations.models import BrandConnection, ConnectionStatus, DataDeletionRequest
from loyalty.models import Tenant

pytestmark = pytest.mark.django_db

OWNER = "10229000000000077"


@pytest.fixture
def connection() -> BrandConnection:
    tenant = Tenant.objects.create(slug="cedar", name="Cedar")
    return BrandConnection.objects.create(
        tenant=tenant,
        ig_user_id="1784",
        page_token="EAAsecret",
        fb_user_id=OWNER,
        subscribed_fields=["messages"],
    )


def signed(settings: Any, user_id: Any = OWNER, **extra: Any) -> str:
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
    assert connection.subscribed_fields == []


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
    assert connection.subscribed_fields == []
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


def test_a_repeated_data_deletion_answers_the_first_code(
    connection: BrandConnection, settings: Any
) -> None:
    # given Meta's first request was handled
    first = Client().post("/meta/data-deletion/", {"signed_request": signed(settings)})

    # when it comes again, and once more with a later issued_at
    again = Client().post("/meta/data-deletion/", {"signed_request": signed(settings)})
    later = Client().post(
        "/meta/data-deletion/", {"signed_request": signed(settings, issued_at=99)}
    )

    # then
    codes = {r.json()["confirmation_code"] for r in (first, again, later)}
    assert len(codes) == 1
    row = DataDeletionRequest.objects.get()
    assert row.confirmation_code in codes
    assert row.connections_erased == 1


def test_a_data_deletion_a_day_later_is_a_new_request(
    connection: BrandConnection, settings: Any
) -> None:
    first = Client().post("/meta/data-deletion/", {"signed_request": signed(settings)})
    DataDeletionRequest.objects.update(
        created_at=timezone.now() - timedelta(days=1, seconds=1)
    )

    later = Client().post("/meta/data-deletion/", {"signed_request": signed(settings)})

    assert later.json()["confirmation_code"] != first.json()["confirmation_code"]
    assert DataDeletionRequest.objects.count() == 2


def test_another_persons_deletion_gets_its_own_code(
    connection: BrandConnection, settings: Any
) -> None:
    mine = Client().post("/meta/data-deletion/", {"signed_request": signed(settings)})

    theirs = Client().post(
        "/meta/data-deletion/",
        {"signed_request": signed(settings, "10229000000000078")},
    )

    assert theirs.json()["confirmation_code"] != mine.json()["confirmation_code"]


@pytest.mark.parametrize("path", ["/meta/deauthorize/", "/meta/data-deletion/"])
@pytest.mark.parametrize(
    "user_id",
    [None, "", "abc", "12a", " 12", "-12", "1.5", "\u0661\u0662", True, -3, 1.0, [1]],
)
def test_a_user_id_that_is_not_digits_is_a_400(
    connection: BrandConnection, settings: Any, path: str, user_id: Any
) -> None:
    response = Client().post(path, {"signed_request": signed(settings, user_id)})

    assert response.status_code == 400
    assert not DataDeletionRequest.objects.exists()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED


def test_a_numeric_user_id_is_accepted(
    connection: BrandConnection, settings: Any
) -> None:
    response = Client().post(
        "/meta/deauthorize/", {"signed_request": signed(settings, int(OWNER))}
    )

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
