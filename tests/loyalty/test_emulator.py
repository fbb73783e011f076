"""The Loyalty Engine emulator: its auth, validation and fault rules."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loyalty.emulator.schemas import SCHEMAS, SIMPLIFIED
from loyalty.models import SandboxLoyaltyEvent, SandboxLoyaltyTenant, SandboxLoyaltyUser
from tests.factories import SandboxLoyaltyTenantFactory, SandboxLoyaltyUserFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loyalty"
# WLL's published OpenAPI document (``test.json`` in its ``wll-sdk`` repository),
# when a copy is at hand: the emulator's schemas are compared with it.
_REFERENCE = os.environ.get("WLL_OPENAPI_FILE", "")
REFERENCE = Path(_REFERENCE) if _REFERENCE else None
BASE = "/sandbox/loyalty"

pytestmark = pytest.mark.django_db


def fixture(name: str, **replace: str) -> Any:
    text = (FIXTURES / f"{name}.json").read_text()
    for placeholder, value in replace.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


@pytest.fixture
def remote() -> SandboxLoyaltyTenant:
    return SandboxLoyaltyTenantFactory(slug="acme")


@pytest.fixture
def member(remote: SandboxLoyaltyTenant) -> SandboxLoyaltyUser:
    return SandboxLoyaltyUserFactory(
        tenant=remote, auth_identifier="auth|jane", account_number="1234567"
    )


def get_token(client: Client, tenant: SandboxLoyaltyTenant) -> str:
    body = fixture(
        "token__client_credentials",
        CLIENT_ID=tenant.client_id,
        CLIENT_SECRET=tenant.client_secret,
    )
    response = client.post(f"{BASE}/oauth/token", body, content_type="application/json")
    assert response.status_code == 200
    return response.json()["access_token"]


def call(
    client: Client,
    method: str,
    path: str,
    tenant: SandboxLoyaltyTenant | None,
    *,
    token: str | None = None,
    body: Any = None,
) -> Any:
    headers = {}
    if tenant is not None:
        headers["X-Api-Key"] = tenant.api_key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    send = getattr(client, method.lower())
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return send(f"{BASE}/v1/{path}", **kwargs)


def post_event(client: Client, tenant: SandboxLoyaltyTenant, body: Any) -> Any:
    return call(
        client, "POST", "events", tenant, token=get_token(client, tenant), body=body
    )


# -- token endpoint -----------------------------------------------------------


def test_it_issues_an_admin_token_for_client_credentials(
    client: Client, remote: SandboxLoyaltyTenant
) -> None:
    body = fixture(
        "token__client_credentials",
        CLIENT_ID=remote.client_id,
        CLIENT_SECRET=remote.client_secret,
    )

    response = client.post(f"{BASE}/oauth/token", body, content_type="application/json")

    assert response.status_code == 200
    answer = response.json()
    assert answer["access_token"]
    assert answer["expires_in"] == 86400
    assert answer["token_type"] == "Bearer"
    assert answer["scope"] == ""


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret": "wrong"},
        {"client_id": "nobody"},
        {"grant_type": "password"},
        {"audience": ""},
    ],
)
def test_it_denies_a_bad_token_request(
    client: Client, remote: SandboxLoyaltyTenant, change: dict
) -> None:
    body = fixture(
        "token__client_credentials",
        CLIENT_ID=remote.client_id,
        CLIENT_SECRET=remote.client_secret,
    )
    body.update(change)

    response = client.post(f"{BASE}/oauth/token", body, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["error"] == "access_denied"
    assert "access_token" not in response.json()


# -- API key and admin token ----------------------------------------------------


def test_it_requires_an_api_key(client: Client, member: SandboxLoyaltyUser) -> None:
    response = call(client, "GET", f"users/{member.id}", None)

    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


def test_it_refuses_an_unknown_api_key(
    client: Client, member: SandboxLoyaltyUser
) -> None:
    response = client.get(
        f"{BASE}/v1/users/{member.id}", headers={"X-Api-Key": "not-a-key"}
    )

    assert response.status_code == 403


def test_it_lets_the_api_key_alone_read_a_user_and_events(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    user = call(client, "GET", f"users/{member.id}", remote)
    listed = call(client, "GET", "events", remote)

    assert user.status_code == 200
    assert user.json()["data"]["id"] == member.id
    assert (
        user.json()["data"]["profile"]["attributes"]["instagramHandle"] == "@Jane.Doe"
    )
    assert listed.status_code == 200
    assert listed.json() == {"data": []}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "events", "event"),
        ("GET", "users?order=ASC", None),
        ("PATCH", "users/{id}", {"profile": {"attributes": {}}}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged"])
def test_it_requires_an_admin_token_to_write_or_list_users(
    client: Client,
    remote: SandboxLoyaltyTenant,
    member: SandboxLoyaltyUser,
    method: str,
    path: str,
    body: Any,
    token: str | None,
) -> None:
    if body == "event":
        body = fixture("event__mentioned_you_social", SUBJECT=member.id)

    response = call(
        client, method, path.format(id=member.id), remote, token=token, body=body
    )

    assert response.status_code == 401
    assert SandboxLoyaltyEvent.objects.count() == 0


def test_it_refuses_another_tenants_token(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    # given
    other = SandboxLoyaltyTenantFactory(slug="other")
    foreign_token = get_token(client, other)
    body = fixture("event__mentioned_you_social", SUBJECT=member.id)

    # when
    response = call(client, "POST", "events", remote, token=foreign_token, body=body)

    # then
    assert response.status_code == 401
    assert SandboxLoyaltyEvent.objects.count() == 0


# -- POST /events ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["events", "events/"])
def test_it_records_a_valid_event(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser, path: str
) -> None:
    body = fixture("event__mentioned_you_social", SUBJECT=member.id)

    response = call(
        client, "POST", path, remote, token=get_token(client, remote), body=body
    )

    assert response.status_code == 200
    assert response.json()["data"]["type"] == "MENTIONED_YOU_SOCIAL"
    event = SandboxLoyaltyEvent.objects.get()
    assert event.user == member
    assert event.occurred_at == "2026-12-01T09:00:00.000Z"
    assert event.payload["media_type"] == "post"


@pytest.mark.parametrize("subject_field", ["auth_identifier", "account_number"])
def test_it_accepts_other_identifiers_as_subject(
    client: Client,
    remote: SandboxLoyaltyTenant,
    member: SandboxLoyaltyUser,
    subject_field: str,
) -> None:
    subject = getattr(member, subject_field)
    body = fixture("event__mentioned_you_social", SUBJECT=subject)

    response = post_event(client, remote, body)

    assert response.status_code == 200
    assert SandboxLoyaltyEvent.objects.get().user == member


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "mentioned_you_social"}, "type"),
        ({"type": "A"}, "type"),
        ({"type": "A" * 65}, "type"),
        ({"type": "MENTIONED__YOU"}, "type"),
        ({"occurredAt": "2026-12-01T09:00:00Z"}, "occurredAt"),
        ({"occurredAt": "2026-12-01T09:00:00"}, "occurredAt"),
        ({"occurredAt": "yesterday"}, "occurredAt"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 129}, "subject"),
        ({"payload": ["not", "an", "object"]}, "payload"),
    ],
)
def test_it_rejects_an_invalid_event_naming_the_field(
    client: Client,
    remote: SandboxLoyaltyTenant,
    member: SandboxLoyaltyUser,
    change: dict,
    field: str,
) -> None:
    body = fixture("event__mentioned_you_social", SUBJECT=member.id)
    body.update(change)

    response = post_event(client, remote, body)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.parametrize(
    "name", ["event__occurred_at_without_fraction", "event__type_with_digits"]
)
def test_it_rejects_the_fixture_variants(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser, name: str
) -> None:
    response = post_event(client, remote, fixture(name, SUBJECT=member.id))

    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


def test_it_rejects_a_missing_type_or_subject(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    without_type = fixture("event__mentioned_you_social", SUBJECT=member.id)
    del without_type["type"]
    without_subject = fixture("event__mentioned_you_social", SUBJECT=member.id)
    del without_subject["subject"]

    assert post_event(client, remote, without_type).status_code == 400
    assert post_event(client, remote, without_subject).status_code == 400


def test_it_rejects_a_body_that_is_not_json(
    client: Client, remote: SandboxLoyaltyTenant
) -> None:
    response = client.post(
        f"{BASE}/v1/events",
        data=b"{not json",
        content_type="application/json",
        headers={
            "X-Api-Key": remote.api_key,
            "Authorization": f"Bearer {get_token(client, remote)}",
        },
    )

    assert response.status_code == 400


def test_it_answers_404_for_an_unknown_subject(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    stranger = SandboxLoyaltyUserFactory(tenant=SandboxLoyaltyTenantFactory())
    body = fixture("event__mentioned_you_social", SUBJECT=stranger.id)

    response = post_event(client, remote, body)

    assert response.status_code == 404
    assert SandboxLoyaltyEvent.objects.count() == 0


def test_it_filters_listed_events_by_subject(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    # given
    other = SandboxLoyaltyUserFactory(tenant=remote)
    for subject in (member.id, other.id, member.id):
        post_event(
            client, remote, fixture("event__mentioned_you_social", SUBJECT=subject)
        )

    # when
    response = call(client, "GET", f"events?subject={member.id}", remote)

    # then
    listed = response.json()["data"]
    assert [event["subject"] for event in listed] == [member.id, member.id]


# -- GET /users -----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "order=UP",
        "order=ASC&limit=0",
        "order=ASC&limit=1001",
        "order=ASC&limit=ten",
        "order=ASC&skip=-1",
    ],
)
def test_it_rejects_bad_list_parameters(
    client: Client, remote: SandboxLoyaltyTenant, query: str
) -> None:
    token = get_token(client, remote)

    response = call(client, "GET", f"users?{query}", remote, token=token)

    assert response.status_code == 400


def test_it_pages_users_in_creation_order(
    client: Client, remote: SandboxLoyaltyTenant
) -> None:
    # given
    ids = [SandboxLoyaltyUserFactory(tenant=remote).id for _ in range(5)]
    SandboxLoyaltyUserFactory()  # another tenant's user stays invisible
    token = get_token(client, remote)

    # when
    first = call(client, "GET", "users?order=ASC&limit=2&skip=0", remote, token=token)
    third = call(client, "GET", "users?order=ASC&limit=2&skip=4", remote, token=token)
    newest = call(client, "GET", "users?order=DESC&limit=1", remote, token=token)

    # then
    assert [user["id"] for user in first.json()["data"]] == ids[:2]
    assert [user["id"] for user in third.json()["data"]] == ids[4:]
    assert [user["id"] for user in newest.json()["data"]] == ids[-1:]


# -- GET and PATCH /users/<id> ---------------------------------------------------


def test_it_hides_another_tenants_user(
    client: Client, remote: SandboxLoyaltyTenant
) -> None:
    stranger = SandboxLoyaltyUserFactory()

    response = call(client, "GET", f"users/{stranger.id}", remote)

    assert response.status_code == 404


def test_it_replaces_the_attributes_object_on_patch(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    # given
    token = get_token(client, remote)
    body = fixture("user_patch__attributes")

    # when
    response = call(
        client, "PATCH", f"users/{member.id}", remote, token=token, body=body
    )

    # then
    assert response.status_code == 200
    member.refresh_from_db()
    # The emulator's stricter reading: the old instagramHandle is gone.
    assert member.profile["attributes"] == body["profile"]["attributes"]
    assert member.profile["givenName"] == "Jane"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {"attributes": ["x"]}}, "profile.attributes"),
        ({"profile": {"givenName": ""}}, "profile.givenName"),
        ({"profile": {"gender": "NONE"}}, "profile.gender"),
        ({"isRestricted": "yes"}, "isRestricted"),
    ],
)
def test_it_rejects_an_invalid_patch_naming_the_field(
    client: Client,
    remote: SandboxLoyaltyTenant,
    member: SandboxLoyaltyUser,
    body: dict,
    field: str,
) -> None:
    token = get_token(client, remote)

    response = call(
        client, "PATCH", f"users/{member.id}", remote, token=token, body=body
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")
    member.refresh_from_db()
    assert member.profile["attributes"] == {"instagramHandle": "@Jane.Doe"}


# -- scripted faults ------------------------------------------------------------


def test_it_answers_scripted_faults_once_each_in_order(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    # given
    remote.faults = [{"status": 429, "retry_after": 7}, {"status": 503}]
    remote.save()

    # when
    answers = [call(client, "GET", f"users/{member.id}", remote) for _ in range(3)]

    # then
    assert [answer.status_code for answer in answers] == [429, 503, 200]
    assert answers[0]["Retry-After"] == "7"
    assert answers[0].json()["statusCode"] == 429
    remote.refresh_from_db()
    assert remote.faults == []


def test_a_fault_after_processing_does_the_work_but_loses_the_answer(
    client: Client, remote: SandboxLoyaltyTenant, member: SandboxLoyaltyUser
) -> None:
    # given
    body = fixture("event__mentioned_you_social", SUBJECT=member.id)
    token = get_token(client, remote)
    remote.faults = [{"status": 504, "after_processing": True}]
    remote.save()

    # when
    response = call(client, "POST", "events", remote, token=token, body=body)

    # then
    assert response.status_code == 504
    assert SandboxLoyaltyEvent.objects.count() == 1


def test_it_leaves_the_token_endpoint_out_of_faults(
    client: Client, remote: SandboxLoyaltyTenant
) -> None:
    remote.faults = [{"status": 500}]
    remote.save()

    get_token(client, remote)

    remote.refresh_from_db()
    assert remote.faults == [{"status": 500}]


# -- schemas against the published OpenAPI document ----------------------------


def _resolved(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolved(components[name], components)
        return {key: _resolved(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(item, components) for item in node]
    return node


@pytest.mark.skipif(
    REFERENCE is None or not REFERENCE.exists(),
    reason="set WLL_OPENAPI_FILE to a copy of WLL's OpenAPI document",
)
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_its_schemas_match_the_reference(name: str) -> None:
    components = json.loads(REFERENCE.read_text())["components"]["schemas"]
    expected = _resolved(components[name], components)
    ours = json.loads(json.dumps(SCHEMAS[name]))

    assert sorted(ours["properties"]) == sorted(expected["properties"])
    for field in [field for (schema, field) in SIMPLIFIED if schema == name]:
        del ours["properties"][field], expected["properties"][field]
    assert ours == expected
