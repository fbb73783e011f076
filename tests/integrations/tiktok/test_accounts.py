"""The account checks after a scan, over recorded Research API answers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import TikTokScan
from integrations.tiktok.accounts import RETRY_UNREADABLE, check_accounts
from integrations.tiktok.research import MAX_ATTEMPTS
from loyalty.models import Member, TikTokAccountStatus
from tests.factories import MemberFactory
from tests.integrations.tiktok.conftest import scripted_source, tiktok_tenant

pytestmark = pytest.mark.django_db


def _member(tenant, handle: str) -> Member:  # type: ignore[no-untyped-def]
    # wll_user_id fixes the order the checks take them in.
    return MemberFactory(
        tenant=tenant,
        wll_user_id=f"user-{handle}",
        tiktok_handle=handle,
        tiktok_handle_status="valid",
    )


def test_an_unreadable_profile_is_passed_over_and_tried_again_later() -> None:
    # given two unchecked members, the first of whom TikTok answers with 500s
    tenant = tiktok_tenant()
    broken, fine = _member(tenant, "ann"), _member(tenant, "bob")
    row = TikTokScan.objects.create(tenant=tenant, source="research", plan="hashtags")
    failures = ["user_info__internal_error"] * MAX_ATTEMPTS
    source, session = scripted_source(*failures, "user_info__ok")

    # when
    check_accounts(tenant, source, row)

    # then the next member was checked all the same
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert fine.tiktok_account_status == TikTokAccountStatus.PUBLIC
    assert broken.tiktok_account_status == TikTokAccountStatus.UNKNOWN
    assert broken.tiktok_checked_at is not None
    assert (row.counters["accounts_checked"], row.counters["accounts_unreadable"]) == (
        1,
        1,
    )

    # when the next scan checks accounts
    again, session = scripted_source()
    check_accounts(tenant, again, row)

    # then the broken one is not tried before its wait is over
    assert session.calls == []

    # and it is, once the wait is over
    Member.objects.filter(pk=broken.pk).update(
        tiktok_checked_at=timezone.now() - RETRY_UNREADABLE - timedelta(minutes=1)
    )
    later, session = scripted_source("user_info__ok")
    check_accounts(tenant, later, row)
    assert [call["json"] for call in session.calls] == [{"username": "ann"}]
    broken.refresh_from_db()
    assert broken.tiktok_account_status == TikTokAccountStatus.PUBLIC


def test_a_failing_source_stops_the_checks_after_a_few_accounts() -> None:
    # given five unchecked members and a source that answers only 500s
    tenant = tiktok_tenant()
    for name in ("ann", "bob", "cat", "dan", "eve"):
        _member(tenant, name)
    row = TikTokScan.objects.create(tenant=tenant, source="research", plan="hashtags")
    source, session = scripted_source(*["user_info__internal_error"] * 15)

    # when
    check_accounts(tenant, source, row)

    # then three accounts were tried, three requests each, and no more
    assert len(session.calls) == 3 * MAX_ATTEMPTS
    assert row.counters["accounts_unreadable"] == 3
    assert Member.objects.filter(tiktok_checked_at__isnull=True).count() == 2
