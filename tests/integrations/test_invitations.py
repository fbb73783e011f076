"""Invitations in the admin and from the command line."""

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from integrations.invitations import find_invitation, hash_token
from integrations.models import Invitation, InvitationState
from loyalty.models import Tenant

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"<]+/connect/([A-Za-z0-9_-]+)/")


@pytest.fixture
def manager() -> Client:
    user = User.objects.create_superuser("manager", "m@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tenant() -> Tenant:
    return Tenant.objects.create(slug="cedar", name="Cedar Bakery")


def test_the_command_prints_a_working_link(tenant: Tenant) -> None:
    out = StringIO()

    call_command("create_invitation", "cedar", "--days", "3", stdout=out)

    token = LINK.fullmatch(out.getvalue().strip()).group(1)  # type: ignore[union-attr]
    invitation = Invitation.objects.get()
    assert len(token) >= 43  # 32 random bytes
    assert invitation.token_hash == hash_token(token) != token
    assert find_invitation(token) == invitation
    assert 2 < (invitation.expires_at - invitation.created_at).days + 1 <= 3


def test_the_command_names_an_unknown_tenant() -> None:
    with pytest.raises(CommandError, match="nope"):
        call_command("create_invitation", "nope")


def test_the_admin_shows_a_new_link_exactly_once(
    manager: Client, tenant: Tenant
) -> None:
    # given the tenant page links to the invitation form
    tenant_page = manager.get(f"/admin/loyalty/tenant/{tenant.pk}/change/")
    assert b"Create Instagram invitation" in tenant_page.content

    # when
    created = manager.post(
        "/admin/integrations/invitation/add/",
        {"tenant": tenant.pk, "valid_days": 2},
    )

    # then
    token = LINK.search(created.content.decode()).group(1)  # type: ignore[union-attr]
    invitation = Invitation.objects.get()
    assert "no-store" in created["Cache-Control"]
    assert invitation.created_by.username == "manager"
    assert invitation.state == InvitationState.PENDING
    listing = manager.get("/admin/integrations/invitation/")
    detail = manager.get(f"/admin/integrations/invitation/{invitation.pk}/change/")
    for page in (listing, detail):
        assert token.encode() not in page.content
    assert b"pending" in listing.content and b"manager" in listing.content


def test_the_admin_revokes_and_filters_by_state(
    manager: Client, tenant: Tenant
) -> None:
    call_command("create_invitation", "cedar", stdout=StringIO())
    invitation = Invitation.objects.get()

    manager.post(
        "/admin/integrations/invitation/",
        {"action": "revoke", "_selected_action": [invitation.pk]},
    )

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.REVOKED
    revoked = manager.get("/admin/integrations/invitation/?state=revoked")
    pending = manager.get("/admin/integrations/invitation/?state=pending")
    assert b"revoked" in revoked.content
    assert b"0 invitations" in pending.content


def test_admin_badges_a_connection_that_needs_reconnecting(
    manager: Client, tenant: Tenant, settings: Any
) -> None:
    from integrations.models import BrandConnection, ConnectionStatus

    BrandConnection.objects.create(
        tenant=tenant, ig_user_id="1", username="cedarbakery",
        status=ConnectionStatus.NEEDS_RECONNECT,
    )  # fmt: skip

    page = manager.get("/admin/integrations/brandconnection/")

    assert b"needs reconnect" in page.content
    assert b"not subscribed" in page.content
