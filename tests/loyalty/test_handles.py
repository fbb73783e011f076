import pytest

from loyalty.handles import normalize_instagram, normalize_tiktok
from loyalty.models import HandleStatus

VALID = HandleStatus.VALID
INVALID = HandleStatus.INVALID
MISSING = HandleStatus.MISSING


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane.doe", "jane.doe"),
        ("@Jane.Doe", "jane.doe"),
        ("  @jane_doe  ", "jane_doe"),
        ("@ jane.doe", "jane.doe"),
        ("JANE.DOE\t", "jane.doe"),
        ("https://www.instagram.com/Jane.Doe/", "jane.doe"),
        ("https://instagram.com/jane.doe?igsh=abc123&hl=en", "jane.doe"),
        ("http://www.instagram.com/jane.doe/?hl=en#top", "jane.doe"),
        ("instagram.com/jane.doe", "jane.doe"),
        ("www.instagram.com/jane.doe/", "jane.doe"),
        ("https://m.instagram.com/Jane_Doe", "jane_doe"),
        ("HTTPS://WWW.INSTAGRAM.COM/jane.doe", "jane.doe"),
        ("https://www.instagram.com/jane.doe/reels/", "jane.doe"),
        ("a" * 30, "a" * 30),
        ("1234", "1234"),
    ],
)
def test_it_normalizes_instagram_handles(raw: str, expected: str) -> None:
    assert normalize_instagram(raw) == (expected, VALID)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("janedoe", "janedoe"),
        ("@JaneDoe", "janedoe"),
        (" @jane.doe_ ", "jane.doe_"),
        ("https://www.tiktok.com/@janedoe", "janedoe"),
        ("https://www.tiktok.com/@JaneDoe/", "janedoe"),
        ("https://www.tiktok.com/@janedoe?lang=en&is_from_webapp=1", "janedoe"),
        ("https://www.tiktok.com/@janedoe/video/7400000000000000001", "janedoe"),
        ("tiktok.com/@janedoe", "janedoe"),
        ("https://m.tiktok.com/@janedoe", "janedoe"),
        ("ab", "ab"),
        ("a" * 24, "a" * 24),
    ],
)
def test_it_normalizes_tiktok_handles(raw: str, expected: str) -> None:
    assert normalize_tiktok(raw) == (expected, VALID)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_it_reports_a_missing_handle(raw: str | None) -> None:
    assert normalize_instagram(raw) == ("", MISSING)
    assert normalize_tiktok(raw) == ("", MISSING)


@pytest.mark.parametrize(
    "raw",
    [
        "a" * 31,
        "jane doe",
        "jane-doe",
        "jane!",
        "jane\x00doe",
        "\x00",
        "@",
        "@@jane",
        "jané",
        "\u212aate",  # the Kelvin sign casefolds to an ASCII "k"
        "jaßne",  # casefolds to "jassne"
        "jane[",  # urlsplit reads "[" as the start of an IPv6 host
        "instagram.com",
        "https://www.instagram.com/",
        "https://www.instagram.com/p/C0abcdEFgh/",
        "https://www.instagram.com/reel/C0abcdEFgh/",
        "https://www.instagram.com/stories/jane.doe/3300000000000000000/",
        "https://example.com/jane.doe",
        "https://www.tiktok.com/@janedoe",
    ],
)
def test_it_rejects_invalid_instagram_handles(raw: str) -> None:
    assert normalize_instagram(raw) == ("", INVALID)


@pytest.mark.parametrize(
    "raw",
    [
        "a",
        "a" * 25,
        "jane doe",
        "jane\x00doe",
        "jané",
        "tiktok.com",
        "https://www.tiktok.com/",
        "https://www.tiktok.com/@",
        "https://www.tiktok.com/explore",
        "https://vm.tiktok.com/ZMabcdEFg/",
        "https://www.instagram.com/janedoe/",
    ],
)
def test_it_rejects_invalid_tiktok_handles(raw: str) -> None:
    assert normalize_tiktok(raw) == ("", INVALID)


def test_it_treats_different_spellings_of_one_handle_as_equal() -> None:
    spellings = ["@Jane.Doe", " jane.doe ", "https://www.instagram.com/JANE.DOE/?hl=de"]

    normalized = {normalize_instagram(raw) for raw in spellings}

    assert normalized == {("jane.doe", VALID)}
