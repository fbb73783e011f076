"""What the brand owner reads when something is off: choices, cookies, CSRF."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from integrations.meta.emulator.login import PERMISSIONS
from integrations.models import BrandConnection, ConnectAttempt
from loyalty.models import Tenant
from tests.integrations.meta.onboarding_helpers import (
    CEDAR_IG,
    CEDAR_PAGE,
    DUNE_IG,
    DUNE_PAGE,
    Flow,
    brand,
)

pytestmark = pytest.mark.django_db(transaction=True)

RADIO = re.compile(rb'<input type="radio"[^>]*value="(\d+)"[^>]*>')


def radios(content: bytes) -> dict[str, bytes]:
    return {m.group(1).decode(): m.group(0) for m in RADIO.finditer(content)}


def test_the_emulated_dialog_ticks_no_page(flow: Flow, cedar: Tenant) -> None:
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    _, path = flow.invite(cedar)
    client = Client()
    query = flow.start(client, path)

    dialog = client.get("/sandbox/graph/v25.0/dialog/oauth", query)

    boxes = re.findall(rb'<input type="checkbox" name="page"[^>]*>', dialog.content)
    assert len(boxes) == 3
    assert not [box for box in boxes if b"checked" in box]


def test_the_chooser_disables_an_account_another_tenant_holds(
    flow: Flow, cedar: Tenant
) -> None:
    # given dune's account belongs to another tenant
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    other = Tenant.objects.create(slug="other", name="Other")
    BrandConnection.objects.create(tenant=other, ig_user_id=DUNE_IG)
    _, path = flow.invite(cedar)
    client = Client()

    # when
    chooser = flow.connect(client, path, pages=[DUNE_PAGE, CEDAR_PAGE])
    nonce = chooser.content.split(b'name="attempt" value="')[1].split(b'"')[0]
    forced = client.post(
        "/connect/choose/", {"attempt": nonce.decode(), "ig_user_id": DUNE_IG}
    )

    # then dune is shown but cannot be picked, and cedar is picked for the owner
    found = radios(chooser.content)
    assert b"disabled" in found[DUNE_IG] and b"checked" not in found[DUNE_IG]
    assert b"checked" in found[CEDAR_IG] and b"disabled" not in found[CEDAR_IG]
    assert b"already connected to another loyalty program" in chooser.content
    # and a forged post of it is still refused
    assert forced.status_code == 409
    assert BrandConnection.objects.get(ig_user_id=DUNE_IG).tenant == other


def test_when_every_account_is_taken_the_owner_is_told_at_once(
    flow: Flow, cedar: Tenant
) -> None:
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    other = Tenant.objects.create(slug="other", name="Other")
    for ig_user_id in (CEDAR_IG, DUNE_IG):
        BrandConnection.objects.create(tenant=other, ig_user_id=ig_user_id)
    _, path = flow.invite(cedar)

    response = flow.connect(Client(), path, pages=[CEDAR_PAGE, DUNE_PAGE])

    assert response.status_code == 409
    assert b"already connected elsewhere" in response.content
    assert ConnectAttempt.objects.get().user_token == ""


def test_missing_permissions_say_to_grant_them_through_the_link(
    flow: Flow, cedar: Tenant
) -> None:
    granted = tuple(p for p in PERMISSIONS if p != "pages_show_list")

    response = flow.connect(Client(), path=flow.invite(cedar)[1], scopes=granted)

    assert b"Open the link from your invitation again" in response.content
    assert b"grant every permission listed" in response.content
    assert b"Your Facebook Pages" in response.content


def test_a_browser_without_the_session_cookie_hears_about_cookies(
    flow: Flow, cedar: Tenant, settings: Any
) -> None:
    # given an owner whose browser dropped the session cookie before the callback
    _, path = flow.invite(cedar)
    client = Client()
    callback = flow.dialog(client, flow.start(client, path))
    del client.cookies[settings.SESSION_COOKIE_NAME]

    # when
    response = client.get(callback)

    # then
    assert response.status_code == 400
    assert b"Cookies are needed" in response.content
    assert b"blocks cookies" in response.content
    assert b"another browser" in response.content


def test_a_foreign_session_is_told_it_started_elsewhere(
    flow: Flow, cedar: Tenant
) -> None:
    _, path = flow.invite(cedar)
    owner, stranger = Client(), Client()
    callback = flow.dialog(owner, flow.start(owner, path))
    stranger.get(path)
    flow.start(stranger, path)  # a session of its own

    response = stranger.get(callback)

    assert response.status_code == 400
    assert b"started in another browser" in response.content
    assert b"Cookies are needed" not in response.content


def test_a_stale_continue_form_gets_a_friendly_page(flow: Flow, cedar: Tenant) -> None:
    # given an owner whose form token no longer matches (a new CSRF cookie)
    _, path = flow.invite(cedar)
    client = Client(enforce_csrf_checks=True)
    client.get(path)

    # when
    refused = client.post(path, {"csrfmiddlewaretoken": "x" * 32})

    # then
    assert refused.status_code == 403
    assert b"This page has expired" in refused.content
    assert b"Open the link from your invitation again" in refused.content
    assert b"<style>" in refused.content  # the connect pages' own look


def test_a_continue_without_any_cookie_says_cookies_are_needed(
    flow: Flow, cedar: Tenant
) -> None:
    _, path = flow.invite(cedar)

    refused = Client(enforce_csrf_checks=True).post(path)

    assert refused.status_code == 403
    assert b"Cookies are needed" in refused.content


def test_other_pages_keep_djangos_csrf_page() -> None:
    User.objects.create_superuser("manager", "m@example.com", "pw")

    refused = Client(enforce_csrf_checks=True).post(
        "/admin/login/", {"username": "manager", "password": "pw"}
    )

    assert refused.status_code == 403
    assert b"CSRF verification failed" in refused.content
