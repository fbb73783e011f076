import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from integrations.meta.signatures import is_valid_signature
from tests.integrations.test_sandbox_send_dm import DEMO_WORLD

ACME_IG_ID = "17841405822304914"

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> None:
    call_command("sandbox_load", str(DEMO_WORLD), stdout=StringIO())


def test_it_posts_a_signed_caption_mention(world: None, fake_meta: Any) -> None:
    fake, url = fake_meta

    call_command(
        "sandbox_send_mention",
        "--tenant", "acme", "--media", "18045872913500101", "--url", url,
        "--repeat", "2",
        stdout=StringIO(),
    )  # fmt: skip

    assert len(fake.requests) == 2
    request = fake.requests[0]
    assert request["path"] == "/webhooks/meta/"
    signature = request["headers"]["X-Hub-Signature-256"]
    assert is_valid_signature(request["body"], signature, "test-app-secret")
    entry = json.loads(request["body"])["entry"][0]
    assert entry["id"] == ACME_IG_ID
    assert entry["changes"] == [
        {"field": "mentions", "value": {"media_id": "18045872913500101"}}
    ]
    assert fake.requests[1]["body"] == request["body"]


def test_it_posts_a_comment_mention(world: None, fake_meta: Any) -> None:
    fake, url = fake_meta

    call_command(
        "sandbox_send_mention",
        "--tenant", "acme", "--media", "18045872913500102",
        "--comment", "17858893269000001", "--url", url,
        stdout=StringIO(),
    )  # fmt: skip

    value = json.loads(fake.requests[0]["body"])["entry"][0]["changes"][0]["value"]
    assert value == {"comment_id": "17858893269000001", "media_id": "18045872913500102"}


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ("18045872913500103", "does not mention"),
        ("18045872913500104", "private account"),
        ("1", "No sandbox media"),
    ],
)
def test_it_refuses_what_meta_would_not_send(
    world: None, fake_meta: Any, media: str, message: str
) -> None:
    fake, url = fake_meta

    with pytest.raises(CommandError, match=message):
        call_command(
            "sandbox_send_mention",
            "--tenant", "acme", "--media", media, "--url", url,
            stdout=StringIO(),
        )  # fmt: skip

    assert fake.requests == []
