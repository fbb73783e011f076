"""The brand owner's journey, every way it can end, against the Graph emulator."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.meta import login, onboarding
from integrations.meta.emulator.login import PERMISSIONS, PLAIN_PAGE, TESTER_ID
from integrations.models import (
    BrandConnection,
    ConnectionStatus,
    InvitationState,
    SandboxBrand,
)
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


def test_it_connects_a_brand_through_the_login_dialog(
    flow: Flow, cedar: Tenant, caplog: Any
) -> None:
    # given
    caplog.set_level(logging.DEBUG)
    invitation, path = flow.invite(cedar)
    client = Client()

    # when
    landing = client.get(path)
    response = flow.connect(client, path)

    # then
    assert b"Cedar Bakery" in landing.content
    assert b"Continue with Facebook" in landing.content
    assert b"Allow access to messages" in landing.content
    assert response.status_code == 200
    assert b"@cedarbakery" in response.content
    connection = BrandConnection.objects.get(ig_user_id=CEDAR_IG)
    sandbox = SandboxBrand.objects.get(slug="cedar")
    assert connection.tenant == cedar
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.page_id == CEDAR_PAGE
    assert connection.page_token == sandbox.page_token
    assert connection.fb_user_id == TESTER_ID
    assert set(connection.granted_scopes) == set(PERMISSIONS)
    assert connection.subscribed_fields == ["messages"]
    assert sandbox.subscribed_fields == ["messages"]
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.USED
    assert invitation.connection == connection
    assert sandbox.page_token.encode() not in response.content
    assert sandbox.page_token not in caplog.text


def test_it_sends_the_documented_dialog_parameters(flow: Flow, cedar: Tenant) -> None:
    _, path = flow.invite(cedar)

    query = flow.start(Client(), path)

    assert query["client_id"] == "1000000000000001"
    assert query["redirect_uri"] == f"{flow.base}/connect/callback/"
    assert query["config_id"] == "test-config"
    assert query["response_type"] == "code"
    assert len(query["state"]) > 30


def test_it_answers_404_to_an_unknown_token(flow: Flow, cedar: Tenant) -> None:
    response = Client().get("/connect/" + "x" * 43 + "/")

    assert response.status_code == 404
    assert b"Cedar" not in response.content


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"used_at": timezone.now()}, b"already been used"),
        ({"revoked_at": timezone.now()}, b"withdrawn"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, b"expired"),
    ],
)
def test_it_explains_a_closed_invitation_without_naming_the_tenant(
    flow: Flow, cedar: Tenant, change: dict[str, Any], title: bytes
) -> None:
    invitation, path = flow.invite(cedar)
    type(invitation).objects.filter(pk=invitation.pk).update(**change)

    response = Client().get(path)

    assert response.status_code == 410
    assert title in response.content
    assert b"Cedar" not in response.content
    assert b"new link" in response.content


def test_it_refuses_a_replayed_state(flow: Flow, cedar: Tenant) -> None:
    # given a completed connection
    _, path = flow.invite(cedar)
    client = Client()
    query = flow.start(client, path)
    callback = flow.dialog(client, query)
    assert client.get(callback).status_code == 200

    # when the same callback comes again
    replayed = client.get(callback)

    # then it is not run again, and the owner hears the account is connected
    assert replayed.status_code == 200
    assert b"already connected" in replayed.content
    assert b"open the link" not in replayed.content
    assert BrandConnection.objects.count() == 1


def test_it_refuses_a_state_from_another_browser(flow: Flow, cedar: Tenant) -> None:
    invitation, path = flow.invite(cedar)
    owner = Client()
    callback = flow.dialog(owner, flow.start(owner, path))

    response = Client().get(callback)

    assert response.status_code == 400
    assert BrandConnection.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING
    # and the owner's own browser can still finish
    assert owner.get(callback).status_code == 200


@pytest.mark.parametrize("state", ["", "garbage", "abc:def:ghi"])
def test_it_refuses_a_forged_state(flow: Flow, cedar: Tenant, state: str) -> None:
    response = Client().get("/connect/callback/", {"state": state, "code": "x"})

    assert response.status_code == 400


def test_it_refuses_an_expired_state(
    flow: Flow, cedar: Tenant, monkeypatch: Any
) -> None:
    _, path = flow.invite(cedar)
    client = Client()
    callback = flow.dialog(client, flow.start(client, path))
    monkeypatch.setattr(login, "STATE_MAX_AGE", -1)

    response = client.get(callback)

    assert response.status_code == 400
    assert b"expired" in response.content


def test_a_cancelled_login_keeps_the_invitation_usable(
    flow: Flow, cedar: Tenant
) -> None:
    invitation, path = flow.invite(cedar)
    client = Client()

    cancelled = flow.connect(client, path, cancel=True)
    retried = flow.connect(client, path)

    assert b"Nothing was connected" in cancelled.content
    assert retried.status_code == 200
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.USED


def test_it_lists_the_permissions_that_were_not_granted(
    flow: Flow, cedar: Tenant
) -> None:
    invitation, path = flow.invite(cedar)
    granted = tuple(p for p in PERMISSIONS if p != "instagram_manage_messages")

    response = flow.connect(Client(), path, scopes=granted)

    assert b"Some permissions were not granted" in response.content
    assert b"Your Instagram messages" in response.content
    assert b"Your Facebook Pages" not in response.content
    assert not BrandConnection.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_it_says_when_no_page_has_an_instagram_account(
    flow: Flow, cedar: Tenant
) -> None:
    invitation, path = flow.invite(cedar)

    response = flow.connect(Client(), path, pages=[PLAIN_PAGE["id"]])

    assert b"No Instagram professional account found" in response.content
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_it_refuses_an_account_connected_to_another_tenant(
    flow: Flow, cedar: Tenant
) -> None:
    other = Tenant.objects.create(slug="other", name="Other")
    BrandConnection.objects.create(tenant=other, ig_user_id=CEDAR_IG, page_token="t")
    _, path = flow.invite(cedar)

    response = flow.connect(Client(), path)

    assert response.status_code == 409
    assert BrandConnection.objects.get(ig_user_id=CEDAR_IG).tenant == other


def test_it_shows_a_page_when_the_graph_api_is_unreachable(
    flow: Flow, cedar: Tenant, settings: Any
) -> None:
    invitation, path = flow.invite(cedar)
    client = Client()
    callback = flow.dialog(client, flow.start(client, path))
    # A loopback port nothing listens on: the connection is refused.
    settings.META_GRAPH_URL = "http://127.0.0.1:9/sandbox/graph"

    response = client.get(callback)

    assert response.status_code == 502
    assert b"Facebook did not answer" in response.content
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_it_shows_a_page_when_the_code_was_already_exchanged(
    flow: Flow, cedar: Tenant
) -> None:
    _, path = flow.invite(cedar)
    client = Client()
    callback = flow.dialog(client, flow.start(client, path))
    code = callback.split("code=")[1].split("&")[0]
    onboarding.GraphClient(None).exchange_code(code, login.redirect_uri())

    response = client.get(callback)

    assert response.status_code == 502


def test_it_asks_which_account_when_there_are_several(
    flow: Flow, cedar: Tenant
) -> None:
    # given a second brand the same person manages
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    _, path = flow.invite(cedar)
    client = Client()

    # when
    chooser = flow.connect(client, path, pages=[CEDAR_PAGE, DUNE_PAGE])
    nonce = chooser.content.split(b'name="attempt" value="')[1].split(b'"')[0]
    done = client.post(
        "/connect/choose/", {"attempt": nonce.decode(), "ig_user_id": DUNE_IG}
    )
    again = client.post(
        "/connect/choose/", {"attempt": nonce.decode(), "ig_user_id": CEDAR_IG}
    )

    # then
    assert b"@cedarbakery" in chooser.content and b"@dunesurf" in chooser.content
    assert done.status_code == 200
    assert BrandConnection.objects.get().ig_user_id == DUNE_IG
    assert again.status_code == 200
    assert b"already connected" in again.content
    assert BrandConnection.objects.get().ig_user_id == DUNE_IG
    assert b"EAA" not in chooser.content


def test_a_choice_from_another_browser_is_refused(flow: Flow, cedar: Tenant) -> None:
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    _, path = flow.invite(cedar)
    chooser = flow.connect(Client(), path, pages=[CEDAR_PAGE, DUNE_PAGE])
    nonce = chooser.content.split(b'name="attempt" value="')[1].split(b'"')[0]

    response = Client().post(
        "/connect/choose/", {"attempt": nonce.decode(), "ig_user_id": DUNE_IG}
    )

    assert response.status_code == 400
    assert not BrandConnection.objects.exists()


def test_racing_callbacks_make_one_connection(flow: Flow, cedar: Tenant) -> None:
    # given two tabs that both went through the dialog
    invitation, path = flow.invite(cedar)
    client = Client()
    first = flow.dialog(client, flow.start(client, path))
    second = flow.dialog(client, flow.start(client, path))

    # when both come back
    responses = [client.get(first), client.get(second)]

    # then one connected, the other was told the account is already connected
    assert [r.status_code for r in responses] == [200, 200]
    assert b"already connected" in responses[1].content
    assert BrandConnection.objects.count() == 1


def test_the_claim_is_atomic_when_the_invitation_was_used_meanwhile(
    flow: Flow, cedar: Tenant
) -> None:
    # given a callback that loaded the invitation before another one claimed it
    invitation, _ = flow.invite(cedar)
    stale = type(invitation).objects.get(pk=invitation.pk)
    type(invitation).objects.filter(pk=invitation.pk).update(used_at=timezone.now())
    session = onboarding.Login("token", "1", list(PERMISSIONS), [])
    chosen = onboarding.Candidate(CEDAR_PAGE, "Cedar", CEDAR_IG, "cedarbakery")

    # when / then
    with pytest.raises(onboarding.OnboardingProblem) as raised:
        onboarding._save(stale, session, chosen, ["messages"])
    assert raised.value.kind == "used_meanwhile"
    assert not BrandConnection.objects.exists()


def test_reconnecting_replaces_the_token_on_the_same_row(
    flow: Flow, cedar: Tenant
) -> None:
    # given a connection that needs reconnecting, with an old token
    old = BrandConnection.objects.create(
        tenant=cedar,
        ig_user_id=CEDAR_IG,
        username="cedarbakery",
        page_token="EAAold",
        status=ConnectionStatus.NEEDS_RECONNECT,
        status_reason="Graph error 190/460",
    )
    _, path = flow.invite(cedar)

    # when
    response = flow.connect(Client(), path)

    # then
    assert response.status_code == 200
    connection = BrandConnection.objects.get()
    assert connection.pk == old.pk
    assert connection.created_at == old.created_at
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.status_reason == ""
    assert connection.page_token == SandboxBrand.objects.get().page_token


def test_the_continue_form_needs_its_csrf_token(flow: Flow, cedar: Tenant) -> None:
    _, path = flow.invite(cedar)
    client = Client(enforce_csrf_checks=True)

    landing = client.get(path)
    refused = client.post(path)

    assert b"csrfmiddlewaretoken" in landing.content
    assert refused.status_code == 403


def test_it_rate_limits_connect_per_client_address(
    flow: Flow, cedar: Tenant, settings: Any
) -> None:
    settings.CONNECT_RATE_LIMIT = 3
    _, path = flow.invite(cedar)
    client = Client()

    statuses = [client.get(path).status_code for _ in range(4)]
    elsewhere = Client(REMOTE_ADDR="127.0.0.9").get(path)

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200
