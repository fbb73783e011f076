import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from integrations.meta.signatures import is_valid_signature
from integrations.models import SandboxInstagramUser
from integrations.sandbox.delivery import dm_delivery, serialize_like_meta

DEMO_WORLD = Path(settings.BASE_DIR) / "integrations" / "sandbox" / "demo-world.json"
ACME_IG_ID = "17841405822304914"

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> None:
    call_command("sandbox_load", str(DEMO_WORLD), stdout=StringIO())


def send(*args: str) -> str:
    out = StringIO()
    call_command("sandbox_send_dm", *args, stdout=out)
    return out.getvalue()


def test_it_posts_a_signed_real_shaped_dm(world: None, fake_meta: Any) -> None:
    # given
    fake, url = fake_meta

    # when
    output = send(
        "--tenant", "acme", "--from", "jane.doe", "--text", "JOIN", "--url", url
    )

    # then
    request = fake.requests[0]
    assert request["path"] == "/webhooks/meta/"
    assert request["headers"]["Content-Type"] == "application/json"
    signature = request["headers"]["X-Hub-Signature-256"]
    assert is_valid_signature(request["body"], signature, settings.META_APP_SECRET)

    payload = json.loads(request["body"])
    entry = payload["entry"][0]
    item = entry["messaging"][0]
    assert payload["object"] == "instagram"
    assert entry["id"] == ACME_IG_ID == item["recipient"]["id"]
    assert item["sender"]["id"] == "6218490317745201"
    assert item["message"]["text"] == "JOIN"
    assert item["message"]["mid"].startswith("aWdf")
    assert f"mid {item['message']['mid']}" in output and "HTTP 200" in output


def test_it_repeats_the_same_signed_body_like_a_retrying_meta(
    world: None, fake_meta: Any
) -> None:
    fake, url = fake_meta

    send_args = ("--tenant", "acme", "--from", "jane.doe", "--text", "hi")
    output = send(*send_args, "--repeat", "2", "--url", url)

    bodies = [request["body"] for request in fake.requests]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert output.count("HTTP 200") == 2


def test_it_grants_the_consent_a_dm_gives(world: None, fake_meta: Any) -> None:
    _, url = fake_meta

    send("--tenant", "acme", "--from", "@Jane.Doe", "--text", "hi", "--url", url)

    assert SandboxInstagramUser.objects.get(username="jane.doe").messaged == ["acme"]


def test_without_consent_leaves_the_user_unmessaged(
    world: None, fake_meta: Any
) -> None:
    _, url = fake_meta

    send(
        "--tenant", "acme", "--from", "quiet.quinn", "--text", "hi",
        "--without-consent", "--url", url,
    )  # fmt: skip

    assert SandboxInstagramUser.objects.get(username="quiet.quinn").messaged == []


def test_it_sends_a_story_mention(world: None, fake_meta: Any) -> None:
    fake, url = fake_meta

    send("--tenant", "acme", "--from", "latte.lover", "--story-mention", "--url", url)

    body = fake.requests[0]["body"]
    message = json.loads(body)["entry"][0]["messaging"][0]["message"]
    assert "text" not in message
    [attachment] = message["attachments"]
    assert attachment["type"] == "story_mention"
    assert attachment["payload"]["url"].startswith("https://lookaside.fbsbx.com/")
    assert b"https:\\/\\/lookaside.fbsbx.com\\/" in body


def test_it_fails_on_an_answer_other_than_200(world: None, fake_meta: Any) -> None:
    fake, url = fake_meta
    fake.status = 403

    with pytest.raises(CommandError, match="answered 403: nope"):
        send("--tenant", "acme", "--from", "jane.doe", "--text", "x", "--url", url)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "--from", "jane.doe", "--text", "x"], "tenant 'nope'"),
        (["--tenant", "acme", "--from", "nobody", "--text", "x"], "user 'nobody'"),
        (["--tenant", "acme", "--from", "jane.doe"], "--text is required"),
        (["--tenant", "acme", "--from", "jane.doe", "--text", "x", "--url", "ftp://x"],
         "http"),
    ],
)  # fmt: skip
def test_it_explains_what_is_wrong(world: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        send(*args)


def test_it_refuses_to_run_without_the_sandbox(world: None, settings: Any) -> None:
    settings.SANDBOX = False

    with pytest.raises(CommandError, match="SANDBOX=1"):
        send("--tenant", "acme", "--from", "jane.doe", "--text", "x")


def test_it_serializes_like_meta() -> None:
    # given
    payload, mid = dm_delivery(ACME_IG_ID, "6218490317745201", "Café ☕ a/b", None, 1)

    # when
    body = serialize_like_meta(payload)

    # then: non-ASCII escaped as \uXXXX (lowercase), "/" as "\/", compact
    assert b'"text":"Caf\\u00e9 \\u2615 a\\/b"' in body
    assert b", " not in body and b": " not in body
    assert json.loads(body) == payload
    assert body.isascii()


def test_every_delivery_gets_its_own_mid() -> None:
    mids = {dm_delivery(ACME_IG_ID, "1", "x")[1] for _ in range(50)}

    assert len(mids) == 50
