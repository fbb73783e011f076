"""Follows are inferred on DMs: the table of what is reported and what is kept."""

from typing import Any

import pytest

from loyalty.models import AttributeWrite, FollowStatus, LoyaltyEvent
from tests.integrations.instagram.conftest import JANE_IGSID, FakeGraph, jane_profile

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("before", "follows_now", "reports_follow", "after"),
    [
        (FollowStatus.UNKNOWN, True, True, FollowStatus.FOLLOWING),
        (FollowStatus.NOT_FOLLOWING, True, True, FollowStatus.FOLLOWING),
        (FollowStatus.FOLLOWING, True, False, FollowStatus.FOLLOWING),
        (FollowStatus.FOLLOWING, False, False, FollowStatus.NOT_FOLLOWING),
        (FollowStatus.UNKNOWN, False, False, FollowStatus.NOT_FOLLOWING),
    ],
)
def test_the_follow_inference_table(
    deliver: Any,
    connection: Any,
    make_member: Any,
    fake_graph: FakeGraph,
    before: str,
    follows_now: bool,
    reports_follow: bool,
    after: str,
) -> None:
    # given
    member = make_member("@Jane.Doe", follow_status=before)
    fake_graph.profiles[JANE_IGSID] = jane_profile(is_user_follow_business=follows_now)

    # when
    deliver("messages__text")

    # then
    reported = LoyaltyEvent.objects.filter(type="FOLLOWED_YOU_SOCIAL").exists()
    assert reported is reports_follow
    member.refresh_from_db()
    assert member.follow_status == after
    assert (
        AttributeWrite.objects.get().attributes["instagram_follows_you"] is follows_now
    )


def test_a_later_dm_after_unfollow_and_refollow_reports_again(
    deliver: Any, connection: Any, make_member: Any, fake_graph: FakeGraph
) -> None:
    # given a member who followed, then unfollowed
    make_member("@Jane.Doe")
    deliver("messages__text")
    fake_graph.profiles[JANE_IGSID] = jane_profile(is_user_follow_business=False)
    deliver("messages__standby")

    # when they follow again and DM
    fake_graph.profiles[JANE_IGSID] = jane_profile(is_user_follow_business=True)
    deliver("messages__emoji_accents")

    # then
    assert LoyaltyEvent.objects.filter(type="FOLLOWED_YOU_SOCIAL").count() == 2
    assert LoyaltyEvent.objects.filter(type="DM_YOU_SOCIAL").count() == 3
