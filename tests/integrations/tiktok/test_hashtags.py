import pytest

from integrations.tiktok.hashtags import (
    InvalidHashtag,
    caption_hashtags,
    matching,
    normalize_hashtag,
)


@pytest.mark.parametrize(
    ("caption", "tracked", "expected"),
    [
        ("Latte art #AcmeCoffee", ["acmecoffee"], ["acmecoffee"]),
        ("#ACMECOFFEE", ["acmecoffee"], ["acmecoffee"]),
        ("tags together #fyp#acmecoffee#cat", ["acmecoffee"], ["acmecoffee"]),
        ("doubled ##acmecoffee", ["acmecoffee"], ["acmecoffee"]),
        ("with emoji #AcmeCoffee🔥", ["acmecoffee"], ["acmecoffee"]),
        ("with a flag #acmecoffee🇭🇳 yes", ["acmecoffee"], ["acmecoffee"]),
        ("punctuation #acmecoffee! and #acmecoffee.", ["acmecoffee"], ["acmecoffee"]),
        ("a longer tag #acmecoffeeshop", ["acmecoffee"], []),
        ("a shorter tag #acme", ["acmecoffee"], []),
        ("no hash acmecoffee", ["acmecoffee"], []),
        ("a mention @acmecoffee", ["acmecoffee"], []),
        ("a lone # at the end #", ["acmecoffee"], []),
        ("accents #Salvadoreña", ["salvadoreña"], ["salvadoreña"]),
        ("arabic #الباشا👑", ["الباشا"], ["الباشا"]),
        ("japanese #コーヒー好き", ["コーヒー好き"], ["コーヒー好き"]),
        ("casefold, not lower #STRASSE", ["straße"], ["strasse"]),
        (
            "two tracked #bloom #AcmeCoffee #bloom",
            ["acmecoffee", "bloom"],
            ["bloom", "acmecoffee"],
        ),
    ],
)
def test_it_matches_caption_hashtags(caption, tracked, expected) -> None:
    tracked = [normalize_hashtag(tag) for tag in tracked]

    assert matching(caption, tracked) == expected


def test_it_reads_every_tag_once_in_caption_order() -> None:
    assert caption_hashtags("#b #A#b ##c # d") == ["b", "a", "c"]


def test_it_folds_full_width_and_case_the_same_on_both_sides() -> None:
    # NFKC turns full-width letters into ASCII; casefold handles the case.
    assert matching("#ＡＣＭＥcoffee", [normalize_hashtag("AcmeCoffee")]) == [
        "acmecoffee"
    ]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("#AcmeCoffee", "acmecoffee"),
        ("  acme_coffee ", "acme_coffee"),
        ("##Dúo", "dúo"),
    ],
)
def test_it_normalizes_tracked_hashtags(raw, stored) -> None:
    assert normalize_hashtag(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "#", "two words", "acme#coffee", "acme-coffee", "🔥", "x" * 101]
)
def test_it_rejects_what_cannot_be_a_hashtag(raw) -> None:
    with pytest.raises(InvalidHashtag, match="one word"):
        normalize_hashtag(raw)
