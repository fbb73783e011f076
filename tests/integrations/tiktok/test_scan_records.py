"""What a scan stores and sends, over recorded Research API answers."""

import pytest

from integrations.models import Activity, ScanStatus, TrackedHashtag
from integrations.tiktok.hashtags import normalize_hashtag
from integrations.tiktok.scanner import scan
from loyalty.models import LoyaltyEvent
from tests.integrations.tiktok.conftest import (
    scripted_source,
    tiktok_member,
    tiktok_tenant,
)

pytestmark = pytest.mark.django_db


def test_a_raw_item_with_a_nul_is_stored_with_a_replacement_character() -> None:
    # given TikTok's answer with a NUL inside the username (PostgreSQL's jsonb
    # refuses "\u0000": this fails there, and on SQLite the value is checked)
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    source, _ = scripted_source("video_query__nul_username", "user_info__ok")

    # when
    outcome = scan(tenant, source)

    # then
    assert outcome.scan.status == ScanStatus.DONE, str(outcome)
    activity = Activity.objects.get()
    assert activity.raw["username"] == "jane\ufffddoe"
    assert activity.raw["id"] == "7380000000000000011"
    assert activity.username == "janedoe"
    assert LoyaltyEvent.objects.count() == 1


def test_the_source_filter_gets_the_lowercased_hashtag_not_the_casefolded() -> None:
    # given "Straße" as typed: TikTok's index lowercases, it never casefolds
    tenant = tiktok_tenant(hashtags=())
    TrackedHashtag.objects.create(tenant=tenant, hashtag=normalize_hashtag("Straße"))
    tiktok_member(tenant, "janedoe")
    source, session = scripted_source("video_query__nul_username", "user_info__ok")

    # when
    scan(tenant, source)

    # then
    condition = session.calls[0]["json"]["query"]["and"][-1]
    assert condition["field_name"] == "hashtag_name"
    assert condition["field_values"] == ["straße"]
