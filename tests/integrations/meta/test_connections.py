"""The daily connection check, against the Graph emulator."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from integrations.meta.connections import check_connections
from integrations.meta.graph import GraphError
from integrations.models import BrandConnection, ConnectionStatus, SandboxBrand
from loyalty.models import Tenant
from tests.integrations.meta.onboarding_helpers import CEDAR_IG, CEDAR_PAGE, Flow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(flow: Flow, cedar: Tenant) -> BrandConnection:
    sandbox = SandboxBrand.objects.get(slug="cedar")
    sandbox.subscribed_fields = ["messages"]
    sandbox.save()
    return BrandConnection.objects.create(
        tenant=cedar,
        ig_user_id=CEDAR_IG,
        page_id=CEDAR_PAGE,
        page_token=sandbox.page_token,
        subscribed_fields=["messages"],
    )


def test_it_keeps_a_healthy_connection(connected: BrandConnection) -> None:
    outcomes = check_connections()

    assert outcomes["ok"] == 1
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED
    assert connected.checked_at is not None


def test_it_resubscribes_a_page_meta_unsubscribed(connected: BrandConnection) -> None:
    # given Meta dropped the subscription after failed deliveries
    SandboxBrand.objects.filter(slug="cedar").update(subscribed_fields=[])

    # when
    outcomes = check_connections()

    # then
    assert outcomes["resubscribed"] == 1
    assert SandboxBrand.objects.get(slug="cedar").subscribed_fields == ["messages"]
    connected.refresh_from_db()
    assert connected.subscribed_fields == ["messages"]


def test_it_marks_a_revoked_token_needs_reconnect(connected: BrandConnection) -> None:
    # given the owner changed their password: Meta no longer knows the token
    SandboxBrand.objects.filter(slug="cedar").update(page_token="EAASnew")

    # when
    outcomes = check_connections()

    # then
    assert outcomes["needs_reconnect"] == 1
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_RECONNECT
    assert "new invitation" in connected.status_reason
    assert check_connections()["needs_reconnect"] == 0  # no longer scanned


def test_a_190_during_the_check_marks_needs_reconnect(
    connected: BrandConnection, monkeypatch: Any
) -> None:
    def expired(self: Any, token: str) -> dict[str, Any]:
        raise GraphError("Session has expired", code=190, subcode=463)

    monkeypatch.setattr("integrations.meta.graph.GraphClient.debug_token", expired)

    check_connections()

    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_RECONNECT
    assert "190/463" in connected.status_reason


def test_a_transient_failure_leaves_the_connection_alone(
    connected: BrandConnection, settings: Any
) -> None:
    settings.META_GRAPH_URL = "http://127.0.0.1:9/sandbox/graph"

    assert check_connections()["failed"] == 1
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED


def test_scanners_only_see_connected_connections(cedar: Tenant) -> None:
    for index, status in enumerate(ConnectionStatus.values):
        BrandConnection.objects.create(
            tenant=cedar, ig_user_id=str(index), status=status
        )

    statuses = list(
        BrandConnection.objects.connected().values_list("status", flat=True)
    )

    assert statuses == [ConnectionStatus.CONNECTED]


def test_the_command_checks_now_and_says_what_it_found(
    connected: BrandConnection,
) -> None:
    # given Meta dropped the subscription
    SandboxBrand.objects.filter(slug="cedar").update(subscribed_fields=[])
    out = StringIO()

    # when
    call_command("check_connections", "--tenant", "cedar", stdout=out)

    # then
    assert out.getvalue().strip().endswith(": resubscribed")
    assert SandboxBrand.objects.get(slug="cedar").subscribed_fields == ["messages"]


def test_the_command_names_an_unknown_tenant(connected: BrandConnection) -> None:
    with pytest.raises(CommandError, match="No connected brand for tenant 'nope'"):
        call_command("check_connections", "--tenant", "nope")
