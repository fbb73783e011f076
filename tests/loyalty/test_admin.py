"""The loyalty admin: tenants with write-only secrets and DM keywords, the member
index, and the outbox with its retry action."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from integrations.models import BrandConnection, DmKeyword, TrackedHashtag
from loyalty.models import (
    AttributeWrite,
    HandleStatus,
    LoyaltyEvent,
    Member,
    OutboxStatus,
    SandboxLoyaltyEvent,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
    Tenant,
)
from tests.factories import (
    MemberFactory,
    SandboxLoyaltyTenantFactory,
    SandboxLoyaltyUserFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

API_KEY = "api-key-Zq81-must-never-show"
CLIENT_SECRET = "client-secret-Kx42-must-never-show"
WEBHOOK_SECRET = "webhook-secret-Pw77-must-never-show"
SECRETS = [API_KEY, CLIENT_SECRET, WEBHOOK_SECRET]


@pytest.fixture
def tenant() -> Tenant:
    return TenantFactory(
        slug="acme",
        name="Acme Coffee",
        api_key=API_KEY,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
    )


def change_url(obj: object) -> str:
    meta = obj._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])  # type: ignore[attr-defined]


def changelist_url(model: type) -> str:
    meta = model._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")


def tenant_form(
    tenant: Tenant, keywords: list[str] = (), hashtags: list[str] = (), **fields: str
) -> dict:
    """The tenant change form as a browser would post it, secrets left blank."""
    existing = list(DmKeyword.objects.filter(tenant=tenant)) if tenant.pk else []
    saved_tags = list(TrackedHashtag.objects.filter(tenant=tenant)) if tenant.pk else []
    data = {
        "slug": tenant.slug,
        "name": tenant.name,
        "rematch_window_days": str(tenant.rematch_window_days),
        "tag_backfill_days": str(tenant.tag_backfill_days),
        "tiktok_scan_hours": str(tenant.tiktok_scan_hours),
        "api_base_url": tenant.api_base_url,
        "auth_url": tenant.auth_url,
        "token_audience": tenant.token_audience,
        "client_id": tenant.client_id,
        "api_key_0": "",
        "client_secret_0": "",
        "webhook_secret_0": "",
        "dmkeyword_set-TOTAL_FORMS": str(len(existing) + len(keywords)),
        "dmkeyword_set-INITIAL_FORMS": str(len(existing)),
        "dmkeyword_set-MIN_NUM_FORMS": "0",
        "dmkeyword_set-MAX_NUM_FORMS": "1000",
        "trackedhashtag_set-TOTAL_FORMS": str(len(saved_tags) + len(hashtags)),
        "trackedhashtag_set-INITIAL_FORMS": str(len(saved_tags)),
        "trackedhashtag_set-MIN_NUM_FORMS": "0",
        "trackedhashtag_set-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(saved_tags):
        data[f"trackedhashtag_set-{index}-id"] = str(row.pk)
        data[f"trackedhashtag_set-{index}-tenant"] = str(tenant.pk)
        data[f"trackedhashtag_set-{index}-hashtag"] = row.hashtag
    for index, hashtag in enumerate(hashtags, start=len(saved_tags)):
        data[f"trackedhashtag_set-{index}-tenant"] = str(tenant.pk)
        data[f"trackedhashtag_set-{index}-hashtag"] = hashtag
    for index, row in enumerate(existing):
        data[f"dmkeyword_set-{index}-id"] = str(row.pk)
        data[f"dmkeyword_set-{index}-tenant"] = str(tenant.pk)
        data[f"dmkeyword_set-{index}-keyword"] = row.keyword
    for index, keyword in enumerate(keywords, start=len(existing)):
        data[f"dmkeyword_set-{index}-tenant"] = str(tenant.pk)
        data[f"dmkeyword_set-{index}-keyword"] = keyword
    data.update(fields)
    return data


def queued_tasks() -> list[tuple[str, tuple]]:
    return [(row.task["func"], tuple(row.task["args"])) for row in OrmQ.objects.all()]


# Tenants and their secrets


def test_it_never_shows_a_stored_secret(admin_client, tenant) -> None:
    pages = [
        changelist_url(Tenant),
        change_url(tenant),
        reverse("admin:loyalty_tenant_history", args=[tenant.pk]),
        reverse("admin:loyalty_tenant_delete", args=[tenant.pk]),
    ]

    for url in pages:
        html = admin_client.get(url).content.decode()
        assert tenant.name in html
        for secret in SECRETS:
            assert secret not in html, url


def test_it_says_whether_each_secret_is_set(admin_client, tenant) -> None:
    tenant.webhook_secret = ""
    tenant.save()

    html = admin_client.get(change_url(tenant)).content.decode()

    assert html.count('class="secret-state">set<') == 2
    assert html.count('class="secret-state">not set<') == 1
    assert 'autocomplete="new-password"' in html


def test_it_keeps_a_secret_left_blank(admin_client, tenant) -> None:
    response = admin_client.post(change_url(tenant), tenant_form(tenant, name="Acme"))

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.name == "Acme"
    assert (tenant.api_key, tenant.client_secret, tenant.webhook_secret) == (
        API_KEY,
        CLIENT_SECRET,
        WEBHOOK_SECRET,
    )


def test_it_replaces_a_secret_typed_in(admin_client, tenant) -> None:
    data = tenant_form(tenant, api_key_0="  new-key  ")

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.api_key == "new-key"
    assert tenant.client_secret == CLIENT_SECRET


def test_it_clears_a_secret_when_asked(admin_client, tenant) -> None:
    data = tenant_form(tenant, client_secret_1="on")

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.client_secret == ""
    assert tenant.api_key == API_KEY


def test_it_refuses_a_new_secret_and_a_clear_together(admin_client, tenant) -> None:
    data = tenant_form(tenant, api_key_0="typed-Qq19-value", api_key_1="on")

    response = admin_client.post(change_url(tenant), data)

    # given the form comes back with an error, then neither the stored nor the
    # typed value is echoed into it
    html = response.content.decode()
    assert response.status_code == 200
    assert "not both" in html
    assert "typed-Qq19-value" not in html
    assert API_KEY not in html
    tenant.refresh_from_db()
    assert tenant.api_key == API_KEY


def test_it_stores_secrets_when_adding_a_tenant(admin_client) -> None:
    data = tenant_form(Tenant(slug="new", name="New"), webhook_secret_0="hook-1")
    data["api_base_url"] = "https://api.rewards.wlloyalty.net/v1"

    response = admin_client.post(reverse("admin:loyalty_tenant_add"), data)

    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="new")
    assert (tenant.webhook_secret, tenant.api_key) == ("hook-1", "")


def test_it_lists_tenants_with_counts_and_finds_them(admin_client, tenant) -> None:
    # given
    MemberFactory.create_batch(3, tenant=tenant)
    BrandConnection.objects.create(tenant=tenant, ig_user_id="178", username="acme")
    TenantFactory(slug="globex", name="Globex")

    # when
    response = admin_client.get(changelist_url(Tenant), {"q": "coffee"})

    # then
    tenants = list(response.context["cl"].result_list)
    assert [t.slug for t in tenants] == ["acme"]
    assert (tenants[0].members, tenants[0].connections) == (3, 1)


# DM keywords on the tenant page


def test_it_adds_keywords_from_the_tenant_page(admin_client, tenant) -> None:
    data = tenant_form(tenant, keywords=["JOIN", "winter-sale_2"])

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 302
    saved = DmKeyword.objects.filter(tenant=tenant).values_list("keyword", flat=True)
    assert sorted(saved) == ["JOIN", "winter-sale_2"]


@pytest.mark.parametrize("keyword", ["two words", "join!", "x" * 101, "#join"])
def test_it_rejects_a_keyword_that_is_not_one_word(
    admin_client, tenant, keyword
) -> None:
    response = admin_client.post(change_url(tenant), tenant_form(tenant, [keyword]))

    assert response.status_code == 200
    # The length limit is the model field's own message; both name the limit.
    assert "at most 100 characters" in response.content.decode()
    assert not DmKeyword.objects.exists()


def test_it_rejects_a_keyword_twice_in_any_case(admin_client, tenant) -> None:
    DmKeyword.objects.create(tenant=tenant, keyword="JOIN")

    response = admin_client.post(change_url(tenant), tenant_form(tenant, ["join"]))

    assert response.status_code == 200
    assert "is already a keyword of this tenant" in response.content.decode()
    assert DmKeyword.objects.count() == 1


def test_it_rejects_the_same_new_keyword_twice(admin_client, tenant) -> None:
    data = tenant_form(tenant, ["Winter", "WINTER"])

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 200
    assert "“WINTER” is entered twice here; keep one." in response.content.decode()
    assert not DmKeyword.objects.exists()


def test_it_allows_renaming_a_keyword_and_reusing_its_word(
    admin_client, tenant
) -> None:
    # given
    DmKeyword.objects.create(tenant=tenant, keyword="JOIN")
    data = tenant_form(tenant, ["join"])
    data["dmkeyword_set-0-keyword"] = "WINTER"

    # when
    response = admin_client.post(change_url(tenant), data)

    # then
    assert response.status_code == 302
    saved = DmKeyword.objects.filter(tenant=tenant).values_list("keyword", flat=True)
    assert sorted(saved) == ["WINTER", "join"]


# Tracked hashtags on the tenant page


def test_it_stores_tracked_hashtags_normalized(admin_client, tenant) -> None:
    data = tenant_form(tenant, hashtags=["#AcmeCoffee", "café_crème"])

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 302
    saved = TrackedHashtag.objects.filter(tenant=tenant).values_list(
        "hashtag", flat=True
    )
    assert sorted(saved) == ["acmecoffee", "café_crème"]


@pytest.mark.parametrize("hashtag", ["two words", "#", "acme#coffee", "a-b"])
def test_it_says_why_a_hashtag_is_rejected(admin_client, tenant, hashtag) -> None:
    response = admin_client.post(
        change_url(tenant), tenant_form(tenant, hashtags=[hashtag])
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not TrackedHashtag.objects.exists()


def test_it_rejects_a_hashtag_twice_once_normalized(admin_client, tenant) -> None:
    data = tenant_form(tenant, hashtags=["#Acme", "acme"])

    response = admin_client.post(change_url(tenant), data)

    assert response.status_code == 200
    assert "#acme is entered twice here; keep one." in response.content.decode()
    assert not TrackedHashtag.objects.exists()


def test_a_hashtag_is_a_duplicate_of_its_folded_spelling(admin_client, tenant) -> None:
    # given "straße" tracked; "STRASSE" matches the same captions once folded
    TrackedHashtag.objects.create(tenant=tenant, hashtag="straße")

    response = admin_client.post(
        change_url(tenant), tenant_form(tenant, hashtags=["#STRASSE"])
    )

    assert response.status_code == 200
    assert "#strasse is already tracked for this tenant." in response.content.decode()
    assert TrackedHashtag.objects.count() == 1


def test_its_own_page_rejects_a_hashtag_already_tracked(admin_client, tenant) -> None:
    TrackedHashtag.objects.create(tenant=tenant, hashtag="acme")

    response = admin_client.post(
        reverse("admin:integrations_trackedhashtag_add"),
        {"tenant": str(tenant.pk), "hashtag": "#ACME"},
    )

    assert response.status_code == 200
    assert "#acme is already tracked" in response.content.decode()
    assert TrackedHashtag.objects.count() == 1


def test_it_allows_one_keyword_in_two_tenants(admin_client, tenant) -> None:
    other = TenantFactory(slug="globex")
    DmKeyword.objects.create(tenant=other, keyword="join")

    response = admin_client.post(change_url(tenant), tenant_form(tenant, ["JOIN"]))

    assert response.status_code == 302
    assert DmKeyword.objects.filter(keyword__iexact="join").count() == 2


# Members


@pytest.fixture
def members(tenant) -> list[Member]:
    return [
        MemberFactory(
            tenant=tenant,
            wll_user_id="wll-jane",
            instagram_handle_raw="@Jane.Doe",
            instagram_handle="jane.doe",
            instagram_handle_status=HandleStatus.VALID,
            igsid="6100000000000001",
            follow_status="true",
            dm_keyword="JOIN",
            linked_at=timezone.now(),
            last_profile={"username": "jane.doe", "bio": "<b>hi</b>"},
        ),
        MemberFactory(
            tenant=tenant,
            wll_user_id="wll-bob",
            instagram_handle_raw="not a handle!",
            instagram_handle_status=HandleStatus.INVALID,
            tiktok_handle="bobtok",
            tiktok_handle_status=HandleStatus.VALID,
        ),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "jane.doe"}, ["wll-jane"]),
        ({"q": "6100000000000001"}, ["wll-jane"]),
        ({"q": "bobtok"}, ["wll-bob"]),
        ({"q": "wll-bob"}, ["wll-bob"]),
        ({"instagram_handle_status__exact": "invalid"}, ["wll-bob"]),
        ({"follow_status__exact": "true"}, ["wll-jane"]),
    ],
)
def test_it_finds_members(admin_client, members, query, expected) -> None:
    response = admin_client.get(changelist_url(Member), query)

    found = [member.wll_user_id for member in response.context["cl"].result_list]
    assert response.status_code == 200
    assert found == expected


def test_it_shows_a_member_with_their_profile_escaped(admin_client, members) -> None:
    response = admin_client.get(change_url(members[0]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<b>hi</b>" not in html


def test_it_lets_nobody_add_a_member_by_hand(admin_client) -> None:
    response = admin_client.get(reverse("admin:loyalty_member_add"))

    assert response.status_code == 403


# The outbox


@pytest.fixture
def outbox(members) -> dict[str, LoyaltyEvent | AttributeWrite]:
    member = members[0]
    later = timezone.now() + timedelta(hours=1)

    def event(status: str, key: str) -> LoyaltyEvent:
        return LoyaltyEvent.objects.create(
            tenant=member.tenant,
            member=member,
            type="DM_YOU_SOCIAL",
            subject=member.wll_user_id,
            payload={"message": "hello <i>there</i>"},
            occurred_at=timezone.now(),
            dedupe_key=key,
            status=status,
            attempts=12,
            next_attempt_at=later,
            last_error="400: subject unknown\nsecond line",
        )

    return {
        "failed": event(OutboxStatus.FAILED, "instagram:dm:m1"),
        "pending": event(OutboxStatus.PENDING, "instagram:dm:m2"),
        "sent": event(OutboxStatus.SENT, "instagram:dm:m3"),
        "write": AttributeWrite.objects.create(
            tenant=member.tenant,
            member=member,
            attributes={"instagram_handle": "jane.doe"},
            status=OutboxStatus.FAILED,
        ),
    }


def test_it_shows_outbox_rows(admin_client, outbox) -> None:
    for row in outbox.values():
        assert admin_client.get(changelist_url(type(row))).status_code == 200
        response = admin_client.get(change_url(row))
        assert response.status_code == 200
    html = admin_client.get(change_url(outbox["failed"])).content.decode()
    assert "hello &lt;i&gt;there&lt;/i&gt;" in html


def test_it_finds_events_by_dedupe_key(admin_client, outbox) -> None:
    response = admin_client.get(changelist_url(LoyaltyEvent), {"q": "dm:m2"})

    assert list(response.context["cl"].result_list) == [outbox["pending"]]


def test_it_offers_no_add_for_outbox_rows(admin_client) -> None:
    assert (
        admin_client.get(reverse("admin:loyalty_loyaltyevent_add")).status_code == 403
    )
    assert (
        admin_client.get(reverse("admin:loyalty_attributewrite_add")).status_code == 403
    )


def test_it_retries_failed_and_pending_rows_now(admin_client, outbox) -> None:
    # given
    selected = [outbox[name].pk for name in ("failed", "pending", "sent")]

    # when
    response = admin_client.post(
        changelist_url(LoyaltyEvent),
        {"action": "retry_now", "_selected_action": selected},
        follow=True,
    )

    # then
    for name in ("failed", "pending"):
        outbox[name].refresh_from_db()
        assert outbox[name].status == OutboxStatus.PENDING
        assert outbox[name].next_attempt_at <= timezone.now()
        assert outbox[name].attempts == 0
    outbox["sent"].refresh_from_db()
    assert outbox["sent"].status == OutboxStatus.SENT
    assert queued_tasks() == [("loyalty.tasks.drain_outbox", ())]
    html = response.content.decode()
    assert "2 row(s) queued" in html
    assert "1 row(s) skipped" in html


def test_it_retries_attribute_writes(admin_client, outbox) -> None:
    admin_client.post(
        changelist_url(AttributeWrite),
        {"action": "retry_now", "_selected_action": [outbox["write"].pk]},
    )

    outbox["write"].refresh_from_db()
    assert outbox["write"].status == OutboxStatus.PENDING
    assert queued_tasks() == [("loyalty.tasks.drain_outbox", ())]


def test_it_queues_nothing_when_nothing_is_retryable(admin_client, outbox) -> None:
    admin_client.post(
        changelist_url(LoyaltyEvent),
        {"action": "retry_now", "_selected_action": [outbox["sent"].pk]},
    )

    assert queued_tasks() == []


# Sandbox and site


def test_it_shows_the_loyalty_emulator_without_its_keys(admin_client) -> None:
    # given
    user = SandboxLoyaltyUserFactory(
        tenant=SandboxLoyaltyTenantFactory(slug="acme", api_key=API_KEY)
    )
    SandboxLoyaltyEvent.objects.create(
        tenant=user.tenant, user=user, type="DM_YOU_SOCIAL", subject=user.id
    )

    # when
    pages = [
        admin_client.get(url)
        for model in (SandboxLoyaltyTenant, SandboxLoyaltyUser, SandboxLoyaltyEvent)
        for url in (changelist_url(model), change_url(model.objects.get()))
    ]

    # then
    assert [page.status_code for page in pages] == [200] * 6
    assert all(API_KEY not in page.content.decode() for page in pages)


def test_it_names_the_site(admin_client) -> None:
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert admin.site.site_header == "Social portal"
    assert "Social portal" in html
