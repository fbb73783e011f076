from typing import Any

import pytest

from integrations.instagram.keywords import first_keyword
from loyalty.models import AttributeWrite, Member
from tests.integrations.instagram.conftest import fixture_bytes

KEYWORDS = ["JOIN", "Winter", "vip-2026"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to join", "JOIN"),
        ("JOIN!", "JOIN"),
        ("joining later", None),
        ("rejoin", None),
        ("winter and join", "Winter"),
        ("join then WINTER", "JOIN"),
        ("(join)", "JOIN"),
        ("vip-2026 please", "vip-2026"),
        ("vip-20267", None),
        ("", None),
        ("Caf\u00e9join", None),
    ],
)
def test_it_finds_the_earliest_whole_word_keyword(
    text: str, expected: str | None
) -> None:
    assert first_keyword(text, KEYWORDS) == expected


@pytest.mark.django_db
def test_the_first_keyword_is_never_overwritten(
    deliver: Any, connection: Any, make_member: Any, fake_graph: Any
) -> None:
    # given a member whose first DM said JOIN
    member = make_member("@Jane.Doe")
    deliver("messages__text")

    # when a later DM says Winter
    deliver(fixture_bytes("messages__standby"))

    # then
    member.refresh_from_db()
    assert member.dm_keyword == "JOIN"
    writes = [
        w.attributes.get("dm_keyword") for w in AttributeWrite.objects.order_by("id")
    ]
    assert writes == ["JOIN", None]


@pytest.mark.django_db
def test_a_dm_without_a_keyword_leaves_it_unset(
    deliver: Any, connection: Any, make_member: Any, fake_graph: Any
) -> None:
    make_member("@Jane.Doe")

    deliver("messages__unsupported_attachment")

    assert Member.objects.get().dm_keyword == ""
