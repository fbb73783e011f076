"""Activity from a handle no member has yet waits, then is matched when one appears."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.models import Activity, ActivityStatus
from loyalty.handles import normalize_instagram
from loyalty.models import LoyaltyEvent, Member
from loyalty.signals import member_handles_changed

pytestmark = pytest.mark.django_db


def register_handle(member: Member, handle: str) -> None:
    member.instagram_handle_raw = handle
    member.instagram_handle, member.instagram_handle_status = normalize_instagram(
        handle
    )
    member.save()
    member_handles_changed.send(sender=Member, member=member)


def test_an_unmatched_dm_is_reported_when_the_handle_appears(
    deliver: Any,
    connection: Any,
    make_member: Any,
    fake_graph: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a DM from a handle no member has
    member = make_member("", wll_user_id="user-late")
    deliver("messages__text")
    Activity.objects.update(occurred_at=timezone.now() - timedelta(days=6))
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.UNMATCHED
    assert activity.username == "jane.doe"
    assert LoyaltyEvent.objects.count() == 0

    # when the member registers the handle
    with django_capture_on_commit_callbacks(execute=True):
        register_handle(member, "https://instagram.com/Jane.Doe")

    # then the event keeps the DM's own time
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REPORTED
    assert activity.member == member
    dm = LoyaltyEvent.objects.get(type="DM_YOU_SOCIAL")
    assert dm.subject == "user-late"
    assert dm.occurred_at == activity.occurred_at


def test_activity_older_than_the_rematch_window_stays_unmatched(
    deliver: Any,
    connection: Any,
    make_member: Any,
    fake_graph: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an unmatched DM older than the tenant's window
    member = make_member("", wll_user_id="user-late")
    deliver("messages__text")
    Activity.objects.update(occurred_at=timezone.now() - timedelta(days=8))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        register_handle(member, "jane.doe")

    # then
    assert Activity.objects.get().status == ActivityStatus.UNMATCHED
    assert LoyaltyEvent.objects.count() == 0


def test_a_handle_already_linked_to_another_account_is_not_matched(
    deliver: Any, connection: Any, make_member: Any, fake_graph: Any
) -> None:
    make_member("@Jane.Doe", igsid="6100000000000999")

    deliver("messages__text")

    assert Activity.objects.get().status == ActivityStatus.UNMATCHED
    assert LoyaltyEvent.objects.count() == 0


def test_a_linked_member_is_found_by_igsid_after_a_username_change(
    deliver: Any, connection: Any, make_member: Any, fake_graph: Any
) -> None:
    member = make_member("@old.name", igsid="6100000000000001")

    deliver("messages__text")

    assert LoyaltyEvent.objects.filter(subject=member.wll_user_id).count() == 2
