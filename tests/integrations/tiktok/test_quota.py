"""The daily quota's counters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import TikTokQuotaDay
from integrations.tiktok import quota

pytestmark = pytest.mark.django_db


def _stale_day() -> TikTokQuotaDay:
    day = TikTokQuotaDay.objects.create(
        source="research", day=quota.today(), requests=1, records=100
    )
    long_ago = timezone.now() - timedelta(hours=5)
    TikTokQuotaDay.objects.filter(pk=day.pk).update(updated_at=long_ago)
    return TikTokQuotaDay.objects.get(pk=day.pk)


@pytest.mark.parametrize(
    "spend",
    [
        lambda: quota.reserve(
            "research", 100, requests_limit=1000, records_limit=100_000
        ),
        lambda: quota.give_back("research", 10),
        lambda: quota.mark_exhausted("research"),
    ],
    ids=["reserve", "give_back", "mark_exhausted"],
)
def test_every_change_to_the_counts_moves_updated_at(spend) -> None:
    # given
    day = _stale_day()

    # when
    spend()

    # then
    assert TikTokQuotaDay.objects.get(pk=day.pk).updated_at > day.updated_at
