"""The Graph API emulator: Meta's error envelope, token and proof checks, the
consent rule, Business Discovery, and the field-expression parser."""

import json
from typing import Any

import pytest
from django.test import Client

from integrations.meta.emulator.fields import FieldSpec, FieldSyntaxError, parse_fields
from integrations.meta.graph import appsecret_proof
from integrations.models import SandboxBrand, SandboxInstagramUser

TOKEN = "page-token-acme"
BRAND_IG_ID = "17841400000000001"
BASE = "/sandbox/graph/v25.0"


@pytest.fixture
def world(db: None) -> None:
    SandboxBrand.objects.create(
        slug="acme",
        ig_user_id=BRAND_IG_ID,
        username="acmecoffee",
        page_id="100000000000001",
        page_token=TOKEN,
    )
    SandboxBrand.objects.create(
        slug="globex",
        ig_user_id="17841400000000002",
        username="globex",
        page_id="100000000000002",
        page_token="page-token-globex",
    )
    SandboxInstagramUser.objects.create(
        igsid="6100000000000001",
        username="jane.doe",
        account_type="personal",
        follower_count=120,
        messaged=["acme", "globex"],
        follows=["globex"],
    )
    SandboxInstagramUser.objects.create(
        igsid="6100000000000002",
        username="BeanBiz",
        name="Bean Biz",
        account_type="business",
        follower_count=900,
        follows_count=12,
        media_count=40,
        biography="Roasters",
    )


def get(path: str, **params: str) -> Any:
    params.setdefault("access_token", TOKEN)
    return Client().get(f"{BASE}/{path}", params)


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400
    return response.json()["error"]


# --- envelope, token, proof -------------------------------------------------


def test_it_answers_a_bad_token_in_metas_envelope(world: None) -> None:
    response = get("6100000000000001", access_token="nope")

    error = error_of(response)
    assert list(error) == ["message", "type", "code", "is_transient", "fbtrace_id"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert error["message"].startswith("Invalid OAuth access token")
    assert error["is_transient"] is False
    assert len(error["fbtrace_id"]) >= 8


def test_it_rejects_a_missing_token(world: None) -> None:
    response = Client().get(f"{BASE}/6100000000000001")

    assert error_of(response)["code"] == 190


def test_it_gives_each_error_its_own_trace_id(world: None) -> None:
    first = error_of(get("6100000000000001", access_token="nope"))
    second = error_of(get("6100000000000001", access_token="nope"))

    assert first["fbtrace_id"] != second["fbtrace_id"]


def test_it_accepts_a_bearer_token(world: None) -> None:
    response = Client().get(
        f"{BASE}/6100000000000001",
        {"fields": "username"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert response.status_code == 200
    assert response.json() == {"username": "jane.doe", "id": "6100000000000001"}


def test_it_accepts_a_matching_appsecret_proof(world: None, settings: Any) -> None:
    proof = appsecret_proof(TOKEN, settings.META_APP_SECRET)

    response = get("6100000000000001", fields="username", appsecret_proof=proof)

    assert response.status_code == 200


@pytest.mark.parametrize("proof", ["0" * 64, "", "é" * 64])
def test_it_rejects_a_wrong_appsecret_proof(world: None, proof: str) -> None:
    response = get("6100000000000001", fields="username", appsecret_proof=proof)

    error = error_of(response)
    assert error["code"] == 100
    assert "appsecret_proof" in error["message"]


def test_it_sends_a_usage_header_on_every_answer(world: None) -> None:
    for response in (get("6100000000000001"), get("1", access_token="nope")):
        usage = json.loads(response["X-App-Usage"])
        assert set(usage) == {"call_count", "total_cputime", "total_time"}
        assert 0 < usage["call_count"] < 50


def test_it_serves_unversioned_paths(world: None) -> None:
    response = Client().get(
        "/sandbox/graph/6100000000000001", {"access_token": TOKEN, "fields": "id"}
    )

    assert response.json() == {"id": "6100000000000001"}


def test_it_refuses_other_methods_like_meta(world: None) -> None:
    response = Client().post(f"{BASE}/6100000000000001?access_token={TOKEN}")

    error = error_of(response)
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["message"].startswith("Unsupported post request")


# --- User Profile API -------------------------------------------------------


def test_it_returns_only_the_requested_profile_fields(world: None) -> None:
    response = get("6100000000000001", fields="follower_count,is_user_follow_business")

    assert response.json() == {
        "follower_count": 120,
        "is_user_follow_business": False,
        "id": "6100000000000001",
    }


def test_it_reports_the_follow_for_the_calling_brand(world: None) -> None:
    response = get(
        "6100000000000001",
        fields="is_user_follow_business",
        access_token="page-token-globex",
    )

    assert response.json()["is_user_follow_business"] is True


def test_it_leaves_out_empty_profile_fields(world: None) -> None:
    response = get("6100000000000001", fields="name,profile_pic,username")

    assert response.json() == {"username": "jane.doe", "id": "6100000000000001"}


def test_it_answers_230_without_consent(world: None) -> None:
    response = get("6100000000000002", fields="username")

    error = error_of(response)
    assert error["code"] == 230
    assert error["message"] == "User consent is required to access user profile"
    assert "error_subcode" not in error


def test_it_answers_100_33_for_an_unknown_igsid(world: None) -> None:
    error = error_of(get("6100000000000999", fields="username"))

    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["type"] == "GraphMethodException"
    assert "6100000000000999" in error["message"]


def test_it_answers_100_for_an_unknown_field(world: None) -> None:
    error = error_of(get("6100000000000001", fields="username,biography"))

    assert error["code"] == 100
    assert "nonexisting field (biography)" in error["message"]


# --- Business Discovery -----------------------------------------------------


def test_it_discovers_a_business_account(world: None) -> None:
    # given
    fields = "business_discovery.username(beanbiz){username,followers_count,website}"

    # when
    response = get(BRAND_IG_ID, fields=fields)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "business_discovery": {
            "username": "BeanBiz",
            "followers_count": 900,
            "id": "6100000000000002",
        },
        "id": BRAND_IG_ID,
    }


def test_it_serves_the_brand_fields_beside_discovery(world: None) -> None:
    fields = "username, business_discovery.username(BeanBiz) { media_count }"

    body = get(BRAND_IG_ID, fields=fields).json()

    assert body["username"] == "acmecoffee"
    assert body["business_discovery"]["media_count"] == 40


@pytest.mark.parametrize("username", ["jane.doe", "nobody"])
def test_it_answers_110_for_personal_and_unknown_accounts(
    world: None, username: str
) -> None:
    error = error_of(
        get(BRAND_IG_ID, fields=f"business_discovery.username({username})")
    )

    assert (error["code"], error["error_subcode"]) == (110, 2207013)
    assert error["message"] == "Invalid user id"
    assert error["type"] == "OAuthException"


def test_it_answers_110_for_a_private_business_account(world: None) -> None:
    SandboxInstagramUser.objects.filter(username="BeanBiz").update(is_private=True)

    error = error_of(get(BRAND_IG_ID, fields="business_discovery.username(BeanBiz)"))

    assert error["code"] == 110


def test_it_refuses_discovery_from_another_brands_account(world: None) -> None:
    error = error_of(
        get("17841400000000002", fields="business_discovery.username(BeanBiz)")
    )

    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    "fields",
    [
        "business_discovery.username(BeanBiz){id",
        "business_discovery.username(BeanBiz",
        "business_discovery{id}",
        "business_discovery.username(){id}",
        "business_discovery.username(BeanBiz).limit(3){id}",
        "id,,username",
        "business_discovery.username(BeanBiz){id}}",
        "username{id}",
    ],
)
def test_it_answers_100_for_a_malformed_expression(world: None, fields: str) -> None:
    error = error_of(get(BRAND_IG_ID, fields=fields))

    assert error["code"] == 100


def test_it_answers_100_for_an_unknown_discovery_field(world: None) -> None:
    error = error_of(
        get(BRAND_IG_ID, fields="business_discovery.username(BeanBiz){id,shoe_size}")
    )

    assert "nonexisting field (shoe_size)" in error["message"]


# --- the field-expression parser --------------------------------------------


def test_it_parses_flat_fields() -> None:
    assert parse_fields("id,name") == [FieldSpec("id"), FieldSpec("name")]


def test_it_parses_nested_fields_with_modifiers() -> None:
    specs = parse_fields(
        "business_discovery.username(jane.doe){id,media.limit(12){id,caption}},x"
    )

    assert specs == [
        FieldSpec(
            "business_discovery",
            {"username": "jane.doe"},
            [
                FieldSpec("id"),
                FieldSpec(
                    "media", {"limit": "12"}, [FieldSpec("id"), FieldSpec("caption")]
                ),
            ],
        ),
        FieldSpec("x"),
    ]


def test_it_tolerates_spaces_between_tokens() -> None:
    specs = parse_fields(" a . limit ( 3 ) { b , c } ")

    assert specs == [FieldSpec("a", {"limit": "3"}, [FieldSpec("b"), FieldSpec("c")])]


@pytest.mark.parametrize(
    "expression",
    ["", ",", "a,", "a{}", "a{b", "a}", "a.(1)", "a.b(", "a.b(c{d})", "1a"],
)
def test_it_rejects_malformed_expressions(expression: str) -> None:
    with pytest.raises(FieldSyntaxError):
        parse_fields(expression)
