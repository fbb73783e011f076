"""Two tenants reaching for one Instagram account: only one may get it."""

import threading
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection as db_connection
from django.test import Client

from integrations.invitations import create_invitation
from integrations.meta import onboarding
from integrations.meta.emulator.login import PERMISSIONS
from integrations.models import (
    BrandConnection,
    ConnectionStatus,
    Invitation,
    InvitationState,
)
from loyalty.models import Tenant
from tests.integrations.meta.onboarding_helpers import CEDAR_IG, CEDAR_PAGE, Flow

pytestmark = pytest.mark.django_db(transaction=True)


def login_for(ig_user_id: str) -> tuple[onboarding.Login, onboarding.Candidate]:
    chosen = onboarding.Candidate(CEDAR_PAGE, "Cedar", ig_user_id, "cedarbakery", "t")
    return onboarding.Login("user-token", "1", list(PERMISSIONS), [chosen]), chosen


def state_of(invitation: Invitation) -> InvitationState:
    invitation.refresh_from_db()
    return invitation.state


def test_another_tenant_connecting_meanwhile_wins_and_we_are_refused(
    flow: Flow, cedar: Tenant, monkeypatch: Any
) -> None:
    # given another tenant's callback that connects the account while ours is
    # talking to Facebook, after our early check passed
    other = Tenant.objects.create(slug="other", name="Other")
    real_check = onboarding._check_page_token

    def other_tenant_commits(chosen: onboarding.Candidate) -> None:
        real_check(chosen)
        BrandConnection.objects.create(tenant=other, ig_user_id=CEDAR_IG)

    monkeypatch.setattr(onboarding, "_check_page_token", other_tenant_commits)
    invitation, path = flow.invite(cedar)

    # when
    response = flow.connect(Client(), path)

    # then
    assert response.status_code == 409
    assert BrandConnection.objects.get(ig_user_id=CEDAR_IG).tenant == other
    assert state_of(invitation) == InvitationState.PENDING


def test_a_lost_insert_race_is_refused_and_keeps_the_invitation(
    cedar: Tenant, monkeypatch: Any
) -> None:
    # given the other tenant's insert lands after our lookup found no row
    other = Tenant.objects.create(slug="other", name="Other")
    invitation, _ = create_invitation(cedar)
    real_lookup = onboarding._locked_connection
    calls: list[str] = []

    def lookup(ig_user_id: str) -> BrandConnection | None:
        calls.append(ig_user_id)
        if len(calls) == 1:
            BrandConnection.objects.create(tenant=other, ig_user_id=ig_user_id)
            return None
        return real_lookup(ig_user_id)

    monkeypatch.setattr(onboarding, "_locked_connection", lookup)
    session, chosen = login_for(CEDAR_IG)

    # when
    with pytest.raises(onboarding.OnboardingProblem) as raised:
        onboarding._save(invitation, session, chosen, ["messages"])

    # then (the simulated insert shared our transaction, so it is rolled back
    # with our claim)
    assert raised.value.kind == "taken"
    assert len(calls) == 2
    assert state_of(invitation) == InvitationState.PENDING


def test_a_lost_insert_race_within_the_same_tenant_reconnects(
    cedar: Tenant, monkeypatch: Any
) -> None:
    # given this tenant's other invitation inserted the row meanwhile
    invitation, _ = create_invitation(cedar)
    real_lookup = onboarding._locked_connection
    calls: list[str] = []

    def lookup(ig_user_id: str) -> BrandConnection | None:
        calls.append(ig_user_id)
        if len(calls) == 1:
            BrandConnection.objects.create(tenant=cedar, ig_user_id=ig_user_id)
            return None
        return real_lookup(ig_user_id)

    monkeypatch.setattr(onboarding, "_locked_connection", lookup)
    session, chosen = login_for(CEDAR_IG)

    # when
    connection = onboarding._save(invitation, session, chosen, ["messages"])

    # then
    assert BrandConnection.objects.get().pk == connection.pk
    assert connection.page_token == "t"
    assert state_of(invitation) == InvitationState.USED


@pytest.mark.parametrize("status", list(ConnectionStatus))
def test_an_account_another_tenant_ever_held_is_refused(
    flow: Flow, cedar: Tenant, status: ConnectionStatus
) -> None:
    # given another tenant's row for the account, with its history
    other = Tenant.objects.create(slug="other", name="Other")
    old = BrandConnection.objects.create(
        tenant=other, ig_user_id=CEDAR_IG, status=status, page_token=""
    )
    invitation, path = flow.invite(cedar)

    # when
    response = flow.connect(Client(), path)

    # then
    assert response.status_code == 409
    assert b"deleting its old connection in the admin" in response.content
    old.refresh_from_db()
    assert (old.tenant, old.status) == (other, status)
    assert state_of(invitation) == InvitationState.PENDING


def test_the_same_tenant_reconnects_its_disconnected_row(
    flow: Flow, cedar: Tenant
) -> None:
    old = BrandConnection.objects.create(
        tenant=cedar,
        ig_user_id=CEDAR_IG,
        status=ConnectionStatus.DISCONNECTED,
        status_reason="The brand owner removed the app on Facebook.",
    )
    _, path = flow.invite(cedar)

    response = flow.connect(Client(), path)

    assert response.status_code == 200
    connection = BrandConnection.objects.get()
    assert connection.pk == old.pk
    assert connection.status == ConnectionStatus.CONNECTED


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    # The suite's in-memory SQLite shares one cache between threads and raises
    # "table is locked" instead of waiting; PostgreSQL makes the loser wait.
    reason="needs a database that serves concurrent writers (PostgreSQL)",
)
def test_two_tenants_racing_for_one_account_get_one_connection(
    cedar: Tenant, monkeypatch: Any
) -> None:
    # given two tenants' callbacks that both passed the early check
    other = Tenant.objects.create(slug="other", name="Other")
    invitations = [create_invitation(tenant)[0] for tenant in (cedar, other)]
    both_checked = threading.Barrier(2, timeout=30)
    monkeypatch.setattr(onboarding, "_check_page_token", lambda chosen: None)

    def subscribe(chosen: onboarding.Candidate) -> list[str]:
        both_checked.wait()
        return ["messages"]

    monkeypatch.setattr(onboarding, "_subscribe", subscribe)
    outcomes: list[str] = []

    def callback(invitation: Invitation) -> None:
        session, chosen = login_for(CEDAR_IG)
        try:
            onboarding.connect(invitation, session, chosen)
            outcomes.append("connected")
        except onboarding.OnboardingProblem as problem:
            outcomes.append(problem.kind)
        finally:
            db_connection.close()

    # when
    threads = [threading.Thread(target=callback, args=(i,)) for i in invitations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert sorted(outcomes) == ["connected", "taken"]
    winner = BrandConnection.objects.get(ig_user_id=CEDAR_IG)
    states = {i.tenant_id: state_of(i) for i in invitations}
    loser = other if winner.tenant == cedar else cedar
    assert states[winner.tenant_id] == InvitationState.USED
    assert states[loser.pk] == InvitationState.PENDING
