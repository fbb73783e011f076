"""Shared pieces for the TikTok tests: fixtures served by a stubbed session,
and a sandbox world on the emulator behind the live server."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.models import SandboxTikTokState, TrackedHashtag
from integrations.tiktok.research import ResearchSource
from loyalty.handles import normalize_tiktok
from loyalty.models import Member, Tenant
from tests.factories import MemberFactory, TenantFactory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tiktok"
NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeResponse:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.status_code = spec["status"]
        self._text = spec.get("text") or json.dumps(spec["body"])

    def json(self) -> Any:
        return json.loads(self._text)

    def __enter__(self) -> "FakeResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FixtureSession:
    """Answers token requests with ``token__ok`` and API calls from a script."""

    def __init__(self, *names: str) -> None:
        self.script = list(names)
        self.calls: list[dict[str, Any]] = []

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        if url.endswith("/oauth/token/"):
            return FakeResponse(fixture("token__ok"))
        self.calls.append({"url": url, **kwargs})
        return FakeResponse(fixture(self.script.pop(0)))

    def close(self) -> None:
        return None


def scripted_source(*names: str) -> tuple[ResearchSource, FixtureSession]:
    source = ResearchSource()
    session = FixtureSession(*names)
    source._session = session  # type: ignore[assignment]
    source.retry_pause = 0
    return source, session


@pytest.fixture
def emulator(live_server: Any, settings: Any) -> str:
    settings.TIKTOK_API_URL = live_server.url + "/sandbox/tiktok"
    settings.TIKTOK_CLIENT_KEY = "test-key"
    settings.TIKTOK_CLIENT_SECRET = "test-secret"
    SandboxTikTokState.objects.all().delete()
    return settings.TIKTOK_API_URL


def tiktok_tenant(
    slug: str = "acme", hashtags: tuple[str, ...] = ("acmecoffee",)
) -> Tenant:
    tenant = TenantFactory(slug=slug)
    for hashtag in hashtags:
        TrackedHashtag.objects.create(tenant=tenant, hashtag=hashtag)
    return tenant


def tiktok_member(tenant: Tenant, raw_handle: str) -> Member:
    handle, status = normalize_tiktok(raw_handle)
    return MemberFactory(
        tenant=tenant,
        # As the member index stores it: PostgreSQL refuses NUL in text.
        tiktok_handle_raw=raw_handle.replace("\x00", "\ufffd"),
        tiktok_handle=handle,
        tiktok_handle_status=status,
    )
