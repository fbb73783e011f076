"""The integrations admin: brand connections, DM keywords, webhook deliveries and
activity, with the replay actions."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from integrations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    BrandConnection,
    DeliveryStatus,
    DmKeyword,
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
    WebhookDelivery,
)
from loyalty.models import Tenant
from tests.factories import MemberFactory, TenantFactory

pytestmark = pytest.mark.django_db

PAGE_TOKEN = "EAAG-page-token-Vb55-must-never-show"


def change_url(obj: object) -> str:
    meta = obj._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])  # type: ignore[attr-defined]


def changelist_url(model: type) -> str:
    meta = model._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")


def queued_tasks() -> list[tuple[str, tuple]]:
    return sorted(
        (row.task["func"], tuple(row.task["args"])) for row in OrmQ.objects.all()
    )


def results(response) -> list:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def tenant() -> Tenant:
    return TenantFactory(slug="acme", name="Acme Coffee")


# Brand connections


@pytest.fixture
def connection(tenant) -> BrandConnection:
    return BrandConnection.objects.create(
        tenant=tenant,
        ig_user_id="17841400000000001",
        username="acmecoffee",
        page_id="100000000000001",
        page_token=PAGE_TOKEN,
        status="needs_reconnect",
    )


def connection_form(connection: BrandConnection, **fields: str) -> dict:
    data = {
        "tenant": str(connection.tenant_id),
        "ig_user_id": connection.ig_user_id,
        "username": connection.username,
        "page_id": connection.page_id,
        "page_token_0": "",
        "status": connection.status,
        "status_reason": "",
    }
    data.update(fields)
    return data


def test_it_never_shows_a_page_token(admin_client, connection) -> None:
    for url in (changelist_url(BrandConnection), change_url(connection)):
        html = admin_client.get(url).content.decode()
        assert "acmecoffee" in html
        assert PAGE_TOKEN not in html
    html = admin_client.get(change_url(connection)).content.decode()
    assert 'class="secret-state">set<' in html


def test_it_keeps_the_page_token_left_blank(admin_client, connection) -> None:
    data = connection_form(connection, status="connected")

    response = admin_client.post(change_url(connection), data)

    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.status, connection.page_token) == ("connected", PAGE_TOKEN)


def test_saving_the_form_leaves_a_throttle_pause_alone(
    admin_client, connection
) -> None:
    # given a pause recorded by a worker after the form was opened
    paused_until = timezone.now() + timedelta(minutes=30)
    BrandConnection.objects.filter(pk=connection.pk).update(
        graph_paused_until=paused_until
    )

    # when the form is saved, even with a forged value for the field
    data = connection_form(connection, graph_paused_until="")
    response = admin_client.post(change_url(connection), data)

    # then
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.graph_paused_until == paused_until


def test_it_clears_the_page_token(admin_client, connection) -> None:
    data = connection_form(connection, page_token_1="on")

    admin_client.post(change_url(connection), data)

    connection.refresh_from_db()
    assert connection.page_token == ""


def test_it_finds_connections_and_badges_their_status(admin_client, connection) -> None:
    BrandConnection.objects.create(tenant=connection.tenant, ig_user_id="999")

    by_name = admin_client.get(changelist_url(BrandConnection), {"q": "acmecof"})
    by_id = admin_client.get(changelist_url(BrandConnection), {"q": "999"})

    assert results(by_name) == [connection]
    assert [c.ig_user_id for c in results(by_id)] == ["999"]
    assert "needs reconnect</span>" in by_name.content.decode()


# DM keywords on their own page


def test_it_lists_and_finds_keywords(admin_client, tenant) -> None:
    join = DmKeyword.objects.create(tenant=tenant, keyword="JOIN")
    DmKeyword.objects.create(tenant=tenant, keyword="WINTER")

    response = admin_client.get(changelist_url(DmKeyword), {"q": "joi"})

    assert results(response) == [join]
    assert admin_client.get(change_url(join)).status_code == 200


def test_it_rejects_a_duplicate_keyword_added_on_its_own(admin_client, tenant) -> None:
    DmKeyword.objects.create(tenant=tenant, keyword="JOIN")

    response = admin_client.post(
        reverse("admin:integrations_dmkeyword_add"),
        {"tenant": str(tenant.pk), "keyword": "Join"},
    )

    assert response.status_code == 200
    assert "“Join” is already a keyword of this tenant" in response.content.decode()
    assert DmKeyword.objects.count() == 1


def test_it_rejects_a_keyword_with_spaces_on_its_own(admin_client, tenant) -> None:
    response = admin_client.post(
        reverse("admin:integrations_dmkeyword_add"),
        {"tenant": str(tenant.pk), "keyword": "join now"},
    )

    assert "A keyword is one word" in response.content.decode()
    assert not DmKeyword.objects.exists()


# Webhook deliveries


@pytest.fixture
def deliveries() -> dict[str, WebhookDelivery]:
    body = {"object": "instagram", "entry": [{"id": "<b>17841</b>", "time": 1}]}
    return {
        "failed": WebhookDelivery.objects.create(
            body=json.dumps(body).encode(),
            status=DeliveryStatus.FAILED,
            error="KeyError: 'messaging'",
            attempts=5,
        ),
        "processed": WebhookDelivery.objects.create(
            body=b'{"object": "instagram", "entry": []}',
            status=DeliveryStatus.PROCESSED,
            summary={"activities": 3},
        ),
        "rejected": WebhookDelivery.objects.create(
            body=b"not json <script>alert(1)</script> \xff\xfe",
            status=DeliveryStatus.REJECTED,
            error="body is not JSON",
        ),
    }


def test_it_lists_deliveries_with_size_and_summary(admin_client, deliveries) -> None:
    response = admin_client.get(changelist_url(WebhookDelivery))

    html = response.content.decode()
    assert len(results(response)) == 3
    assert "failed</span>" in html
    assert "{&quot;activities&quot;: 3}" in html
    assert "37\xa0bytes" in html  # the processed body's length, from the database


def test_it_filters_deliveries_by_status(admin_client, deliveries) -> None:
    response = admin_client.get(
        changelist_url(WebhookDelivery), {"status__exact": "rejected"}
    )

    assert results(response) == [deliveries["rejected"]]


def test_it_shows_a_json_body_indented_and_escaped(admin_client, deliveries) -> None:
    response = admin_client.get(change_url(deliveries["failed"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "&quot;id&quot;: &quot;&lt;b&gt;17841&lt;/b&gt;&quot;" in html
    assert "<b>17841</b>" not in html
    assert "KeyError: &#x27;messaging&#x27;" in html


def test_it_shows_a_rejected_body_as_escaped_text(admin_client, deliveries) -> None:
    response = admin_client.get(change_url(deliveries["rejected"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "not json &lt;script&gt;alert(1)&lt;/script&gt; \ufffd\ufffd" in html
    assert "<script>alert(1)" not in html


def test_it_reprocesses_deliveries_but_not_rejected_ones(
    admin_client, deliveries
) -> None:
    # given
    selected = [delivery.pk for delivery in deliveries.values()]

    # when
    response = admin_client.post(
        changelist_url(WebhookDelivery),
        {"action": "reprocess", "_selected_action": selected},
        follow=True,
    )

    # then
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        deliveries["failed"].pk: DeliveryStatus.RECEIVED,
        deliveries["processed"].pk: DeliveryStatus.RECEIVED,
        deliveries["rejected"].pk: DeliveryStatus.REJECTED,
    }
    task = "integrations.instagram.tasks.process_delivery"
    assert queued_tasks() == sorted(
        [(task, (deliveries["failed"].pk,)), (task, (deliveries["processed"].pk,))]
    )
    deliveries["failed"].refresh_from_db()
    assert deliveries["failed"].attempts == 0
    html = response.content.decode()
    assert "2 delivery(ies) queued" in html
    assert "1 rejected delivery(ies) skipped: their body is not JSON" in html


def test_it_offers_no_add_for_deliveries_or_activity(admin_client) -> None:
    for name in ("webhookdelivery", "activity"):
        url = reverse(f"admin:integrations_{name}_add")
        assert admin_client.get(url).status_code == 403


# Activity


@pytest.fixture
def activities(tenant, deliveries) -> dict[str, Activity]:
    member = MemberFactory(tenant=tenant, wll_user_id="wll-jane")

    def activity(source_id: str, status: str, **fields: object) -> Activity:
        return Activity.objects.create(
            tenant=tenant,
            platform="instagram",
            kind=ActivityKind.DM,
            source_id=source_id,
            status=status,
            occurred_at=timezone.now(),
            delivery=deliveries["failed"],
            raw={"message": {"mid": source_id, "text": "<img src=x onerror=y>"}},
            **fields,
        )

    return {
        "no_consent": activity(
            "mid-230",
            ActivityStatus.FAILED,
            sender_id="6100000000000009",
            error_code="230",
            error="Graph error 230: the user has not messaged the brand",
        ),
        "unmatched": activity("mid-u", ActivityStatus.UNMATCHED, username="new.fan"),
        "reported": activity(
            "mid-r", ActivityStatus.REPORTED, member=member, username="jane.doe"
        ),
    }


def test_it_lists_activity_with_its_errors(admin_client, activities) -> None:
    response = admin_client.get(changelist_url(Activity))

    html = response.content.decode()
    assert len(results(response)) == 3
    assert "Graph error 230" in html
    assert "unmatched</span>" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "mid-230"}, ["mid-230"]),
        ({"q": "new.fan"}, ["mid-u"]),
        ({"q": "6100000000000009"}, ["mid-230"]),
        ({"status__exact": "unmatched"}, ["mid-u"]),
        ({"error_code": "230"}, ["mid-230"]),
    ],
)
def test_it_finds_activity(admin_client, activities, query, expected) -> None:
    response = admin_client.get(changelist_url(Activity), query)

    assert [a.source_id for a in results(response)] == expected


def test_it_shows_activity_with_raw_json_escaped(admin_client, activities) -> None:
    response = admin_client.get(change_url(activities["no_consent"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;img src=x onerror=y&gt;" in html
    assert "<img src=x" not in html
    assert "Graph error 230" in html


def test_it_links_a_delivery_to_its_activity(admin_client, activities) -> None:
    delivery = activities["no_consent"].delivery

    html = admin_client.get(change_url(delivery)).content.decode()
    linked = admin_client.get(
        changelist_url(Activity), {"delivery__id__exact": delivery.pk}
    )

    assert f"?delivery__id__exact={delivery.pk}" in html
    assert "3 activities" in html
    assert len(results(linked)) == 3


def test_it_retries_failed_and_unmatched_activity(admin_client, activities) -> None:
    # given
    Activity.objects.filter(pk=activities["no_consent"].pk).update(attempts=8)
    selected = [activity.pk for activity in activities.values()]

    # when
    response = admin_client.post(
        changelist_url(Activity),
        {"action": "retry", "_selected_action": selected},
        follow=True,
    )

    # then
    statuses = dict(Activity.objects.values_list("source_id", "status"))
    assert statuses == {
        "mid-230": ActivityStatus.PENDING,
        "mid-u": ActivityStatus.PENDING,
        "mid-r": ActivityStatus.REPORTED,
    }
    assert Activity.objects.get(source_id="mid-230").attempts == 0
    task = "integrations.instagram.tasks.resolve_activity"
    assert queued_tasks() == sorted(
        [(task, (activities["no_consent"].pk,)), (task, (activities["unmatched"].pk,))]
    )
    assert "1 activity(ies) skipped" in response.content.decode()


# Sandbox


def test_it_shows_the_graph_emulator_without_page_tokens(admin_client) -> None:
    # given
    SandboxBrand.objects.create(
        slug="acme",
        ig_user_id="1784",
        username="acme",
        page_id="1",
        page_token=PAGE_TOKEN,
    )
    SandboxInstagramUser.objects.create(igsid="61", username="jane.doe")
    SandboxMedia.objects.create(media_id="179", username="jane.doe", timestamp="x")

    # when
    pages = [
        admin_client.get(url)
        for model in (SandboxBrand, SandboxInstagramUser, SandboxMedia)
        for url in (changelist_url(model), change_url(model.objects.get()))
    ]

    # then
    assert [page.status_code for page in pages] == [200] * 6
    assert all(PAGE_TOKEN not in page.content.decode() for page in pages)
