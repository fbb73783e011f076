"""The latency record: happened, seen, accepted; median and p95 per tenant."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import latency
from integrations.instagram import ratelimits
from integrations.models import Activity, ActivityKind, BrandConnection, Platform
from loyalty.models import LoyaltyEvent, Member, Tenant

pytestmark = pytest.mark.django_db


def _accepted(
    tenant: Tenant, member: Member, n: int, happened_s: int, seen_s: int
) -> None:
    """An activity whose event was accepted ``happened_s`` seconds after it
    happened and ``seen_s`` seconds after we saw it."""
    sent = timezone.now() - timedelta(hours=1)
    event = LoyaltyEvent.objects.create(
        tenant=tenant,
        member=member,
        type="MENTIONED_YOU_SOCIAL",
        subject=member.wll_user_id,
        occurred_at=sent,
        dedupe_key=f"k{n}",
        sent_at=sent,
    )
    activity = Activity.objects.create(
        tenant=tenant,
        platform=Platform.INSTAGRAM,
        kind=ActivityKind.TAG,
        source_id=str(n),
        occurred_at=sent - timedelta(seconds=happened_s),
        event=event,
    )
    # seen_at is set on insert; move it to when the test says it was seen.
    Activity.objects.filter(pk=activity.pk).update(
        seen_at=sent - timedelta(seconds=seen_s)
    )


@pytest.fixture
def tenant() -> Tenant:
    return Tenant.objects.create(slug="acme", name="Acme Coffee")


@pytest.fixture
def member(tenant: Tenant) -> Member:
    return Member.objects.create(tenant=tenant, wll_user_id="u1", auth_identifier="a")


def test_it_takes_the_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]

    assert latency.percentile(values, 50) == 10
    assert latency.percentile(values, 95) == 19
    assert latency.percentile([], 95) == 0


def test_it_summarises_a_week_of_accepted_events(
    tenant: Tenant, member: Member
) -> None:
    # given twenty events, one slow; and one older than a week
    for n in range(1, 20):
        _accepted(tenant, member, n, happened_s=60 * n, seen_s=n)
    _accepted(tenant, member, 20, happened_s=6000, seen_s=300)
    LoyaltyEvent.objects.filter(dedupe_key="k1").update(
        sent_at=timezone.now() - timedelta(days=8)
    )

    # when
    summary = latency.for_tenant(tenant.pk)

    # then
    assert summary.count == 19
    # (the 10th and 19th of 120, 180, ... 1140 s and the slow 6000 s)
    assert summary.happened_median == 660
    assert summary.happened_p95 == 6000
    assert summary.seen_median == 11
    assert summary.seen_p95 == 300


def test_the_tenant_page_shows_the_latency(
    admin_client: object, tenant: Tenant, member: Member
) -> None:
    _accepted(tenant, member, 1, happened_s=90, seen_s=2)

    url = reverse("admin:loyalty_tenant_change", args=[tenant.pk])
    html = admin_client.get(url).content.decode()  # type: ignore[attr-defined]
    listing = admin_client.get(  # type: ignore[attr-defined]
        reverse("admin:loyalty_tenant_changelist")
    ).content.decode()

    assert "median 90 s, p95 90 s" in html
    assert "median 2 s" in listing


def test_the_connection_page_shows_the_rate_limit_state(
    admin_client: object, tenant: Tenant
) -> None:
    connection = BrandConnection.objects.create(
        tenant=tenant,
        ig_user_id="1",
        graph_usage={"app": {"call_count": 91}},
        graph_usage_at=timezone.now(),
    )
    url = reverse("admin:integrations_brandconnection_changelist")

    busy = admin_client.get(url).content.decode()  # type: ignore[attr-defined]
    ratelimits.back_off(connection, _throttled(), {})
    paused = admin_client.get(url).content.decode()  # type: ignore[attr-defined]

    assert "91% of the limit (scanning slowed down)" in busy
    assert "throttled until" in paused


def _throttled() -> "ratelimits.GraphError":
    return ratelimits.GraphError("limit", code=17)
