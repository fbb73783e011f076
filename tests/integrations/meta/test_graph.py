"""The Graph API client over real HTTP: against the emulator, and against stub
servers on loopback for transport failures and odd replies."""

import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.meta.graph import (
    GraphClient,
    GraphError,
    GraphTransportError,
    appsecret_proof,
)
from integrations.models import SandboxBrand, SandboxInstagramUser

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta"
TOKEN = "page-token-acme"
BRAND_IG_ID = "17841400000000001"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"graph__{name}.json").read_text())


# --- error parsing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "flag"),
    [
        ("error_consent", "is_consent_error"),
        ("error_invalid_user", "is_not_found_user"),
        ("error_token_expired", "is_token_error"),
        ("error_throttled", "is_throttled"),
    ],
)
def test_it_classifies_each_error_envelope(fixture: str, flag: str) -> None:
    error = GraphError.from_envelope(load_fixture(fixture), 400)

    flags = ["is_consent_error", "is_not_found_user", "is_token_error", "is_throttled"]
    assert {name: getattr(error, name) for name in flags} == {
        name: name == flag for name in flags
    }


def test_it_keeps_every_envelope_field() -> None:
    error = GraphError.from_envelope(load_fixture("error_token_expired"), 400)

    assert error.code == 190
    assert error.subcode == 463
    assert error.type == "OAuthException"
    assert error.fbtrace_id == "Ct0kEnExP1r3dQ"
    assert error.message.startswith("Error validating access token")
    assert error.http_status == 400
    assert error.is_transient is False
    assert "190/463" in str(error)


def test_it_treats_session_invalid_as_a_token_error() -> None:
    error = GraphError.from_envelope({"error": {"code": 102, "message": "x"}}, 400)

    assert error.is_token_error


def test_it_needs_the_subcode_to_call_a_user_not_found() -> None:
    error = GraphError.from_envelope({"error": {"code": 110, "message": "x"}}, 400)

    assert not error.is_not_found_user


def test_it_takes_temporary_codes_as_transient() -> None:
    error = GraphError.from_envelope(load_fixture("error_temporary"), 500)

    assert error.code == 2
    assert error.is_transient
    assert error.subcode is None


def test_it_survives_an_envelope_of_odd_types() -> None:
    error = GraphError.from_envelope(
        {"error": {"code": "abc", "error_subcode": None, "message": None}}, 400
    )

    assert error.code is None
    assert error.subcode is None
    assert error.message == "unknown Graph API error"
    assert error.fbtrace_id == ""


def test_it_survives_an_error_that_is_not_an_object() -> None:
    error = GraphError.from_envelope({"error": "boom"}, 400)

    assert error.code is None
    assert error.message == "boom"


def test_it_computes_the_appsecret_proof_as_hmac_sha256_hex() -> None:
    expected = hmac.new(b"secret", b"token", hashlib.sha256).hexdigest()

    assert appsecret_proof("token", "secret") == expected


def test_it_refuses_a_path_that_climbs_out() -> None:
    client = GraphClient(TOKEN)

    with pytest.raises(ValueError):
        client.get("../../admin")


# --- against the emulator ---------------------------------------------------


@pytest.fixture
def graph_world(live_server: Any, settings: Any) -> None:
    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
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
    _user(
        "6100000000000001", "jane.doe", "personal", messaged=["acme"], follows=["acme"]
    )
    _user("6100000000000002", "BeanBiz", "business", messaged=["globex"])
    _user("6100000000000003", "cleo.creates", "creator")
    _user("6100000000000004", "hush.shop", "business", is_private=True)


def _user(igsid: str, username: str, account_type: str, **extra: Any) -> None:
    SandboxInstagramUser.objects.create(
        igsid=igsid,
        username=username,
        name=username.title(),
        account_type=account_type,
        follower_count=120,
        follows_count=80,
        media_count=14,
        biography=f"bio of {username}",
        profile_pic=f"https://cdn.example.test/{igsid}.jpg",
        **extra,
    )


live = pytest.mark.django_db(transaction=True)


@live
def test_it_reads_a_profile_once_the_user_messaged_the_brand(graph_world: None) -> None:
    # given
    client = GraphClient(TOKEN)

    # when
    profile = client.user_profile("6100000000000001")

    # then
    assert profile == {
        "name": "Jane.Doe",
        "username": "jane.doe",
        "profile_pic": "https://cdn.example.test/6100000000000001.jpg",
        "follower_count": 120,
        "is_user_follow_business": True,
        "is_business_follow_user": False,
        "is_verified_user": False,
        "id": "6100000000000001",
    }


@live
def test_it_sees_whether_the_user_follows_this_brand(graph_world: None) -> None:
    profile = GraphClient("page-token-globex").user_profile("6100000000000002")

    assert profile["is_user_follow_business"] is False


@live
def test_it_raises_a_consent_error_before_the_user_messaged(graph_world: None) -> None:
    client = GraphClient(TOKEN)

    with pytest.raises(GraphError) as caught:
        client.user_profile("6100000000000002")

    assert caught.value.is_consent_error
    assert caught.value.http_status == 400
    assert caught.value.fbtrace_id


@live
def test_it_raises_for_an_unknown_igsid(graph_world: None) -> None:
    client = GraphClient(TOKEN)

    with pytest.raises(GraphError) as caught:
        client.user_profile("6100000000000999")

    assert (caught.value.code, caught.value.subcode) == (100, 33)
    assert caught.value.type == "GraphMethodException"
    assert not caught.value.is_not_found_user


@live
def test_it_raises_a_token_error_for_a_bad_token(graph_world: None) -> None:
    client = GraphClient("not-a-token")

    with pytest.raises(GraphError) as caught:
        client.user_profile("6100000000000001")

    assert caught.value.is_token_error
    assert caught.value.code == 190
    assert not isinstance(caught.value, GraphTransportError)


@live
def test_it_discovers_a_business_account(graph_world: None) -> None:
    found = GraphClient(TOKEN).business_discovery(BRAND_IG_ID, "BeanBiz")

    assert found == {
        "id": "6100000000000002",
        "username": "BeanBiz",
        "name": "Beanbiz",
        "biography": "bio of BeanBiz",
        "followers_count": 120,
        "follows_count": 80,
        "media_count": 14,
        "profile_picture_url": "https://cdn.example.test/6100000000000002.jpg",
    }


@live
def test_it_discovers_a_creator_account(graph_world: None) -> None:
    found = GraphClient(TOKEN).business_discovery(BRAND_IG_ID, "cleo.creates")

    assert found is not None
    assert found["media_count"] == 14
    assert found["biography"] == "bio of cleo.creates"


@live
def test_it_matches_discovery_usernames_case_insensitively(graph_world: None) -> None:
    found = GraphClient(TOKEN).business_discovery(BRAND_IG_ID, "beanbiz")

    assert found is not None
    assert found["username"] == "BeanBiz"


@live
@pytest.mark.parametrize("username", ["jane.doe", "hush.shop", "nobody.here"])
def test_it_returns_none_for_accounts_discovery_cannot_see(
    graph_world: None, username: str
) -> None:
    # Personal, private and unknown accounts all answer 110/2207013.
    assert GraphClient(TOKEN).business_discovery(BRAND_IG_ID, username) is None


@live
def test_it_raises_other_discovery_errors(graph_world: None) -> None:
    # Another brand's account is not reachable with this Page token.
    client = GraphClient(TOKEN)

    with pytest.raises(GraphError) as caught:
        client.business_discovery("17841400000000002", "BeanBiz")

    assert caught.value.code == 100


@live
def test_it_does_not_call_discovery_for_an_impossible_username(
    graph_world: None,
) -> None:
    client = GraphClient(TOKEN)

    assert client.business_discovery(BRAND_IG_ID, "x){id}") is None
    assert client.last_usage == {}


@live
def test_it_sends_an_appsecret_proof_the_emulator_accepts(
    graph_world: None, settings: Any
) -> None:
    # given: the emulator checks any proof it gets against the same secret
    settings.META_APP_SECRET = "another-app-secret"
    client = GraphClient(TOKEN)

    # when
    profile = client.user_profile("6100000000000001")

    # then
    assert profile["username"] == "jane.doe"


@live
def test_it_fails_when_its_proof_does_not_match_the_app_secret(
    graph_world: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the client signs with a secret the emulator does not hold
    client = GraphClient(TOKEN)
    monkeypatch.setattr(
        "integrations.meta.graph.appsecret_proof", lambda token, secret: "0" * 64
    )

    # when
    with pytest.raises(GraphError) as caught:
        client.user_profile("6100000000000001")

    # then
    assert caught.value.code == 100
    assert "appsecret_proof" in caught.value.message


@live
def test_it_keeps_the_usage_header_of_the_latest_reply(graph_world: None) -> None:
    client = GraphClient(TOKEN)

    client.user_profile("6100000000000001")

    app_usage = client.last_usage["app"]
    assert set(app_usage) == {"call_count", "total_cputime", "total_time"}
    assert all(isinstance(value, int) for value in app_usage.values())


@live
def test_it_reads_usage_headers_on_error_replies_too(graph_world: None) -> None:
    client = GraphClient(TOKEN)

    with pytest.raises(GraphError):
        client.user_profile("6100000000000002")

    assert "call_count" in client.last_usage["app"]


# --- stub servers: transport failures and odd replies -----------------------


class StubServer:
    """A loopback HTTP server answering every GET with one canned reply."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stub.requests.append(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub(settings: Any) -> Iterator[Any]:
    servers: list[StubServer] = []

    def start(status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
        server = StubServer(status, body, headers or {})
        servers.append(server)
        settings.META_GRAPH_URL = server.url
        return server

    yield start
    for server in servers:
        server.close()


def test_it_sends_the_token_and_its_proof_as_query_parameters(
    stub: Any, settings: Any
) -> None:
    # given
    settings.META_APP_SECRET = "s3cret"
    settings.META_GRAPH_VERSION = "v25.0"
    server = stub(200, b'{"id": "1"}', {"Content-Type": "application/json"})

    # when
    GraphClient(TOKEN).user_profile("6100000000000001")

    # then
    url = urlsplit(server.requests[0])
    query = parse_qs(url.query)
    assert url.path == "/v25.0/6100000000000001"
    assert query["access_token"] == [TOKEN]
    assert query["appsecret_proof"] == [appsecret_proof(TOKEN, "s3cret")]
    assert query["fields"][0].split(",") == [
        "name",
        "username",
        "profile_pic",
        "follower_count",
        "is_user_follow_business",
        "is_business_follow_user",
        "is_verified_user",
    ]


def test_it_sends_no_proof_without_an_app_secret(stub: Any, settings: Any) -> None:
    settings.META_APP_SECRET = ""
    server = stub(200, b'{"id": "1"}')

    GraphClient(TOKEN).get("me")

    assert "appsecret_proof" not in parse_qs(urlsplit(server.requests[0]).query)


def test_it_raises_a_transport_error_for_a_non_json_502(stub: Any) -> None:
    stub(502, b"<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"})

    with pytest.raises(GraphTransportError) as caught:
        GraphClient(TOKEN).get("me")

    assert caught.value.http_status == 502
    assert caught.value.code is None
    assert caught.value.is_transient


def test_it_raises_a_transport_error_for_json_that_is_not_an_object(
    stub: Any,
) -> None:
    stub(200, b"[1, 2]")

    with pytest.raises(GraphTransportError) as caught:
        GraphClient(TOKEN).get("me")

    assert caught.value.http_status == 200
    assert not caught.value.is_transient


def test_it_raises_an_error_envelope_even_on_a_200(stub: Any) -> None:
    stub(200, json.dumps(load_fixture("error_throttled")).encode())

    with pytest.raises(GraphError) as caught:
        GraphClient(TOKEN).get("me")

    assert caught.value.is_throttled
    assert caught.value.http_status == 200


def test_it_parses_both_usage_headers(stub: Any) -> None:
    business_usage = {
        "17841400000000001": [
            {
                "type": "instagram",
                "call_count": 28,
                "total_cputime": 5,
                "total_time": 9,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    stub(
        200,
        b'{"id": "1"}',
        {
            "X-App-Usage": '{"call_count":3,"total_cputime":1,"total_time":2}',
            "X-Business-Use-Case-Usage": json.dumps(business_usage),
        },
    )
    client = GraphClient(TOKEN)

    client.get("me")

    assert client.last_usage == {
        "app": {"call_count": 3, "total_cputime": 1, "total_time": 2},
        "business_use_case": business_usage,
    }


def test_it_skips_a_malformed_usage_header(stub: Any) -> None:
    stub(
        200,
        b'{"id": "1"}',
        {"X-App-Usage": "{not json", "X-Business-Use-Case-Usage": '"a string"'},
    )
    client = GraphClient(TOKEN)

    client.get("me")

    assert client.last_usage == {}


def test_it_times_out_on_a_server_that_never_answers(settings: Any) -> None:
    # given: a socket that accepts connections (the kernel's backlog does) and
    # never reads or answers
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    settings.META_GRAPH_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
    client = GraphClient(TOKEN, timeout=(1.0, 0.3))

    # when
    try:
        with pytest.raises(GraphTransportError) as caught:
            client.user_profile("6100000000000001")
    finally:
        silent.close()

    # then
    assert caught.value.is_transient
    assert caught.value.code is None
    assert "Timeout" in caught.value.message


def test_it_keeps_the_token_out_of_transport_errors_and_logs(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a port nothing listens on
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings.META_GRAPH_URL = f"http://127.0.0.1:{port}"
    caplog.set_level(logging.DEBUG)

    # when
    with pytest.raises(GraphTransportError) as caught:
        GraphClient(TOKEN).user_profile("6100000000000001")

    # then
    assert caught.value.message == "ConnectionError calling the Graph API"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert "/6100000000000001" in caplog.text


@live
def test_it_logs_error_codes_without_the_token(
    graph_world: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(GraphError) as caught:
        GraphClient(TOKEN).user_profile("6100000000000002")

    warnings = [r for r in caplog.records if r.name == "integrations.meta.graph"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "code=230" in warnings[0].getMessage()
    assert caught.value.fbtrace_id in warnings[0].getMessage()
    assert TOKEN not in caplog.text
