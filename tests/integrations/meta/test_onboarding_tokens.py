"""The long-lived user token kept for the chooser never outlives its use."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.meta import login
from integrations.meta.connections import check_connections
from integrations.models import ConnectAttempt, Invitation
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


def open_chooser(flow: Flow, cedar: Tenant) -> tuple[Client, str]:
    brand("dune", DUNE_IG, DUNE_PAGE, "dunesurf")
    _, path = flow.invite(cedar)
    client = Client()
    chooser = flow.connect(client, path, pages=[CEDAR_PAGE, DUNE_PAGE])
    nonce = chooser.content.split(b'name="attempt" value="')[1].split(b'"')[0]
    assert ConnectAttempt.objects.get().user_token
    return client, nonce.decode()


def unknown_account(settings: Any) -> str:
    return "17841400000000000"


def graph_down(settings: Any) -> str:
    settings.META_GRAPH_URL = "http://127.0.0.1:9/sandbox/graph"
    return DUNE_IG


def invitation_revoked(settings: Any) -> str:
    Invitation.objects.update(revoked_at=timezone.now())
    return DUNE_IG


@pytest.mark.parametrize(
    ("meanwhile", "status"),
    [(unknown_account, 200), (graph_down, 502), (invitation_revoked, 410)],
)
def test_a_choice_that_fails_wipes_the_user_token(
    flow: Flow,
    cedar: Tenant,
    settings: Any,
    meanwhile: Callable[[Any], str],
    status: int,
) -> None:
    # given an owner at the chooser
    client, nonce = open_chooser(flow, cedar)

    # when the choice ends early
    wanted = meanwhile(settings)
    response = client.post("/connect/choose/", {"attempt": nonce, "ig_user_id": wanted})

    # then
    assert response.status_code == status
    attempt = ConnectAttempt.objects.get()
    assert (attempt.user_token, attempt.choices) == ("", [])


def age(seconds: int) -> None:
    ConnectAttempt.objects.update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_an_abandoned_chooser_loses_its_token_at_the_next_connect_visit(
    flow: Flow, cedar: Tenant
) -> None:
    # given an owner who left the chooser open past the state's lifetime
    open_chooser(flow, cedar)
    age(login.STATE_MAX_AGE + 1)
    abandoned = ConnectAttempt.objects.get()

    # when someone else starts connecting
    _, path = flow.invite(cedar)
    flow.start(Client(), path)

    # then
    abandoned.refresh_from_db()
    assert (abandoned.user_token, abandoned.choices) == ("", [])


def test_a_fresh_chooser_keeps_its_token(flow: Flow, cedar: Tenant) -> None:
    open_chooser(flow, cedar)
    age(login.STATE_MAX_AGE - 60)

    wiped = login.forget_stale_attempts()

    assert wiped == 0
    assert ConnectAttempt.objects.get().user_token


def test_the_connection_check_also_wipes_abandoned_tokens(
    flow: Flow, cedar: Tenant
) -> None:
    open_chooser(flow, cedar)
    age(login.STATE_MAX_AGE + 1)

    check_connections()

    attempt = ConnectAttempt.objects.get()
    assert (attempt.user_token, attempt.choices) == ("", [])


def test_a_late_choice_is_refused_and_leaves_no_token(
    flow: Flow, cedar: Tenant
) -> None:
    client, nonce = open_chooser(flow, cedar)
    age(login.STATE_MAX_AGE + 1)

    response = client.post(
        "/connect/choose/", {"attempt": nonce, "ig_user_id": CEDAR_IG}
    )

    assert response.status_code == 400
    assert ConnectAttempt.objects.get().user_token == ""
