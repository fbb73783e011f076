"""Driving the onboarding flow with Django's test client against the emulator.

The portal's Graph API calls go over HTTP to the emulator served by the live
server; the browser's steps (landing, dialog, callback) go through the client.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from integrations.invitations import create_invitation
from integrations.meta.emulator.login import PERMISSIONS, PLAIN_PAGE
from integrations.models import Invitation, SandboxBrand
from integrations.sandbox import credentials
from loyalty.models import Tenant

CEDAR_IG = "17841471188230563"
CEDAR_PAGE = "118205733619240"
DUNE_IG = "17841471188230999"
DUNE_PAGE = "118205733619999"


@dataclass
class Flow:
    base: str

    def invite(self, tenant: Tenant, days: int = 7) -> tuple[Invitation, str]:
        invitation, link = create_invitation(tenant, days=days)
        return invitation, urlsplit(link).path

    def start(self, client: Client, path: str) -> dict[str, str]:
        """Continue with Facebook: the dialog query the portal redirected to."""
        response = client.post(path)
        assert response.status_code == 302, response.content
        location = urlsplit(response["Location"])
        assert location.path.endswith("/dialog/oauth")
        return {key: values[0] for key, values in parse_qs(location.query).items()}

    def dialog(
        self,
        client: Client,
        query: dict[str, str],
        pages: list[str] | None = None,
        scopes: tuple[str, ...] = PERMISSIONS,
        cancel: bool = False,
    ) -> str:
        """The tester's answer in the emulated dialog: the callback path+query."""
        form: dict[str, Any] = {
            **query,
            "page": pages if pages is not None else [CEDAR_PAGE],
            "scope": list(scopes),
            "cancel" if cancel else "grant": "1",
        }
        version = "v25.0"
        response = client.post(f"/sandbox/graph/{version}/dialog/oauth", form)
        assert response.status_code == 302, response.content
        location = urlsplit(response["Location"])
        return f"{location.path}?{location.query}"

    def connect(self, client: Client, path: str, **dialog: Any) -> Any:
        query = self.start(client, path)
        return client.get(self.dialog(client, query, **dialog))


@pytest.fixture
def flow(live_server: Any, settings: Any) -> Flow:
    base = live_server.url
    settings.PUBLIC_BASE_URL = base
    settings.META_GRAPH_URL = f"{base}/sandbox/graph"
    settings.META_LOGIN_DIALOG_URL = f"{base}/sandbox/graph"
    settings.META_LOGIN_CONFIG_ID = "test-config"
    settings.CONNECT_RATE_LIMIT = 1000
    return Flow(base)


@pytest.fixture
def cedar() -> Tenant:
    tenant = Tenant.objects.create(slug="cedar", name="Cedar Bakery")
    brand(tenant.slug, CEDAR_IG, CEDAR_PAGE, "cedarbakery")
    return tenant


def brand(slug: str, ig_id: str, page_id: str, username: str) -> SandboxBrand:
    return SandboxBrand.objects.create(
        slug=slug,
        ig_user_id=ig_id,
        username=username,
        page_id=page_id,
        page_name=username.title(),
        page_token=credentials.page_token(slug),
    )


__all__ = ["PLAIN_PAGE", "Flow", "brand", "cedar", "flow"]
