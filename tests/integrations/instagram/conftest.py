"""Fixtures for the Instagram pipeline: a tenant with a connected brand, members,
and a Graph API stand-in patched in where the pipeline makes its calls."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_q.conf import Conf

from integrations.meta.graph import GraphError, tags_page
from integrations.meta.signatures import sign
from integrations.models import BrandConnection, DmKeyword
from loyalty.handles import normalize_instagram
from loyalty.models import Member, Tenant

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta"
BRAND_IG_ID = "17841400000000001"
JANE_IGSID = "6100000000000001"


def consent_error() -> GraphError:
    return GraphError(
        "User consent is required to access user profile", code=230, http_status=400
    )


def personal_account_error() -> GraphError:
    return GraphError("Invalid user id", code=110, subcode=2207013, http_status=400)


@dataclass
class FakeGraph:
    """Answers like the Graph API would, from dictionaries; records every call."""

    profiles: dict[str, dict[str, Any] | GraphError] = field(default_factory=dict)
    discovery: dict[str, dict[str, Any] | GraphError] = field(default_factory=dict)
    media: dict[str, dict[str, Any] | GraphError] = field(default_factory=dict)
    comments: dict[str, dict[str, Any] | GraphError] = field(default_factory=dict)
    # ``tags`` answers by the cursor asked for ("" for the first page).
    tag_pages: dict[str, dict[str, Any] | GraphError] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    last_usage: dict[str, Any] = field(default_factory=dict)
    last_usage: dict[str, Any] = field(default_factory=dict)
    # Called on each tags read, to act while a scan is in progress.
    on_tags: Callable[[], None] | None = None

    def __call__(self, access_token: str) -> "FakeGraph":
        return self

    def user_profile(self, igsid: str) -> dict[str, Any]:
        self.calls.append(("user_profile", igsid))
        answer = self.profiles.get(igsid)
        if answer is None:
            raise GraphError("Object does not exist", code=100, subcode=33)
        if isinstance(answer, GraphError):
            raise answer
        return answer

    def business_discovery(
        self, ig_user_id: str, username: str
    ) -> dict[str, Any] | None:
        self.calls.append(("business_discovery", username))
        answer = self.discovery.get(username.lower(), personal_account_error())
        if isinstance(answer, GraphError):
            if answer.is_not_found_user:
                return None
            raise answer
        return answer

    def mentioned_media(self, ig_user_id: str, media_id: str) -> dict[str, Any]:
        self.calls.append(("mentioned_media", media_id))
        return _answer(self.media.get(media_id))

    def mentioned_comment(self, ig_user_id: str, comment_id: str) -> dict[str, Any]:
        self.calls.append(("mentioned_comment", comment_id))
        return _answer(self.comments.get(comment_id))

    def tags(
        self, ig_user_id: str, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.calls.append(("tags", after or ""))
        if self.on_tags is not None:
            self.on_tags()
        return tags_page(_answer(self.tag_pages.get(after or "")))


def _answer(answer: dict[str, Any] | GraphError | None) -> dict[str, Any]:
    if answer is None:
        raise GraphError("Object does not exist", code=100, subcode=33)
    if isinstance(answer, GraphError):
        raise answer
    return answer


def jane_profile(**overrides: Any) -> dict[str, Any]:
    profile = {
        "id": JANE_IGSID,
        "name": "Jane Doe",
        "username": "Jane.Doe",
        "profile_pic": "https://cdn.example/jane.jpg",
        "follower_count": 120,
        "is_user_follow_business": True,
        "is_business_follow_user": False,
        "is_verified_user": False,
    }
    return profile | overrides


@pytest.fixture
def fake_graph(monkeypatch: pytest.MonkeyPatch) -> FakeGraph:
    graph = FakeGraph(profiles={JANE_IGSID: jane_profile()})
    for module in ("messages", "mentions", "tags"):
        monkeypatch.setattr(f"integrations.instagram.{module}.GraphClient", graph)
    return graph


@pytest.fixture
def tenant(db: None) -> Tenant:
    tenant = Tenant.objects.create(slug="acme", name="Acme Coffee")
    DmKeyword.objects.create(tenant=tenant, keyword="JOIN")
    DmKeyword.objects.create(tenant=tenant, keyword="Winter")
    return tenant


@pytest.fixture
def connection(tenant: Tenant) -> BrandConnection:
    return BrandConnection.objects.create(
        tenant=tenant,
        ig_user_id=BRAND_IG_ID,
        username="acmecoffee",
        page_id="100000000000001",
        page_token="page-token-acme",
    )


@pytest.fixture
def make_member(tenant: Tenant) -> Callable[..., Member]:
    def make(handle: str = "@Jane.Doe", **fields: Any) -> Member:
        normalized, status = normalize_instagram(handle)
        defaults: dict[str, Any] = {
            "tenant": tenant,
            "wll_user_id": f"user-{normalized or 'none'}",
            "auth_identifier": f"auth|{normalized}",
            "instagram_handle_raw": handle,
            "instagram_handle": normalized,
            "instagram_handle_status": status,
        }
        return Member.objects.create(**(defaults | fields))

    return make


@dataclass
class DrainRequests:
    count: int = 0

    def append_call(self) -> str:
        self.count += 1
        return "drain skipped in this test"


@pytest.fixture
def drain_requests() -> DrainRequests:
    return DrainRequests()


@pytest.fixture
def deliver(
    client: Client,
    drain_requests: DrainRequests,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> Callable[[bytes | str], None]:
    """Post a signed delivery and run every task it queues, inline.

    The outbox drain is replaced by a counter: these tests stop at the outbox,
    and the Loyalty Engine side is tested against its emulator elsewhere.
    """
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.setattr("loyalty.tasks.drain_outbox", drain_requests.append_call)

    def send(body: bytes | str) -> None:
        raw = fixture_bytes(body) if isinstance(body, str) else body
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/webhooks/meta/",
                data=raw,
                content_type="application/json",
                headers={"X-Hub-Signature-256": sign(raw, "test-app-secret")},
            )
        assert response.status_code == 200, response.content

    return send


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))
