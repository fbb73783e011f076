"""The emulated login dialog, token exchanges and Page subscriptions."""

from typing import Any

import pytest
from django.test import Client

from integrations.meta.emulator.login import PERMISSIONS
from integrations.models import SandboxBrand, SandboxGrant
from loyalty.models import Tenant
from tests.integrations.meta.onboarding_helpers import CEDAR_PAGE

pytestmark = pytest.mark.django_db

V = "/sandbox/graph/v25.0"


@pytest.fixture
def granted(cedar: Tenant, settings: Any) -> SandboxGrant:
    settings.PUBLIC_BASE_URL = "http://testserver"
    return SandboxGrant.objects.create(
        code="the-code",
        redirect_uri="http://testserver/connect/callback/",
        fb_user_id="1",
        scopes=[p for p in PERMISSIONS if p != "pages_manage_metadata"],
        page_ids=[CEDAR_PAGE],
        long_token="EAALlong",
    )


def exchange(settings: Any, **overrides: str) -> Any:
    params = {
        "client_id": settings.META_APP_ID,
        "client_secret": settings.META_APP_SECRET,
        "redirect_uri": "http://testserver/connect/callback/",
        "code": "the-code",
        **overrides,
    }
    return Client().get(f"{V}/oauth/access_token", params)


def test_a_code_works_once(granted: SandboxGrant, settings: Any) -> None:
    first = exchange(settings)
    second = exchange(settings)

    assert first.json()["token_type"] == "bearer"
    assert second.json()["error"]["error_subcode"] == 36009


def test_a_wrong_secret_or_redirect_is_refused(
    granted: SandboxGrant, settings: Any
) -> None:
    assert exchange(settings, client_secret="no").json()["error"]["code"] == 1
    redirect = exchange(settings, redirect_uri="http://elsewhere/")
    assert redirect.json()["error"]["error_subcode"] == 36008


def test_debug_token_needs_the_app_token(granted: SandboxGrant) -> None:
    response = Client().get(
        f"{V}/debug_token", {"input_token": "EAALlong", "access_token": "1|wrong"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 190


def test_debug_token_reports_an_unknown_token_as_invalid(
    granted: SandboxGrant, settings: Any
) -> None:
    app = f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"
    response = Client().get(
        f"{V}/debug_token", {"input_token": "EAAnope", "access_token": app}
    )

    assert response.json()["data"]["is_valid"] is False


def test_subscribing_needs_pages_manage_metadata(granted: SandboxGrant) -> None:
    token = SandboxBrand.objects.get().page_token

    response = Client().post(
        f"{V}/{CEDAR_PAGE}/subscribed_apps?access_token={token}",
        {"subscribed_fields": "messages"},
    )

    assert response.json()["error"]["code"] == 200


def test_the_dialog_refuses_a_foreign_redirect_uri(settings: Any) -> None:
    response = Client().get(
        f"{V}/dialog/oauth",
        {"client_id": settings.META_APP_ID, "redirect_uri": "https://evil.example/",
         "response_type": "code", "config_id": "c", "state": "s"},
    )  # fmt: skip

    assert response.status_code == 400
    assert b"redirect_uri" in response.content
