import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from loyalty import members, tasks
from loyalty.client import LoyaltyNotFoundError, LoyaltyRetryableError
from loyalty.members import (
    refresh_member,
    sync_tenant,
    sync_tenants,
    upsert_member,
)
from loyalty.models import (
    HandleStatus,
    Member,
    SandboxLoyaltyUser,
    TikTokAccountStatus,
)
from loyalty.signals import member_handles_changed
from tests.factories import (
    MemberFactory,
    SandboxLoyaltyTenantFactory,
    SandboxLoyaltyUserFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def wll_user(
    user_id: str | None = None,
    auth: str = "auth|1",
    instagram: Any = None,
    tiktok: Any = None,
) -> dict:
    attributes = {}
    if instagram is not None:
        attributes["instagramHandle"] = instagram
    if tiktok is not None:
        attributes["tiktokHandle"] = tiktok
    return {
        "id": user_id or str(uuid.uuid4()),
        "authIdentifier": auth,
        "accountNumber": "1234567",
        "profile": {"givenName": "Jane", "attributes": attributes},
    }


def users(count: int, start: int = 0) -> list[dict]:
    return [
        wll_user(f"user-{n}", f"auth|{n}", instagram=f"@Member.{n}")
        for n in range(start, start + count)
    ]


class Pages:
    """A stand-in for ``LoyaltyClient.list_users`` serving a fixed user list."""

    def __init__(self, everyone: list[Any]) -> None:
        self.everyone = everyone
        self.calls: list[tuple[int, int]] = []

    def __call__(self, limit: int, skip: int) -> list[Any]:
        self.calls.append((limit, skip))
        return self.everyone[skip : skip + limit]


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_class() -> Iterator[mock.MagicMock]:
    with mock.patch("loyalty.members.LoyaltyClient", autospec=True) as patched:
        yield patched


@pytest.fixture
def wll(client_class: mock.MagicMock) -> mock.MagicMock:
    """The client instance every ``LoyaltyClient(tenant)`` call returns."""
    return client_class.return_value


@pytest.fixture
def announced() -> Iterator[list[Member]]:
    received: list[Member] = []

    def receiver(sender: Any, member: Member, **kwargs: Any) -> None:
        received.append(member)

    member_handles_changed.connect(receiver, dispatch_uid="test-members")
    yield received
    member_handles_changed.disconnect(dispatch_uid="test-members")


# -- upsert ------------------------------------------------------------------


def test_it_creates_a_member_from_a_user_object() -> None:
    tenant = TenantFactory()
    user = wll_user("u-1", "auth|1", instagram="@Jane.Doe", tiktok="JaneDoe")

    member = upsert_member(tenant, user)

    member.refresh_from_db()
    assert member.tenant == tenant
    assert member.wll_user_id == "u-1"
    assert member.auth_identifier == "auth|1"
    assert member.instagram_handle_raw == "@Jane.Doe"
    assert member.instagram_handle == "jane.doe"
    assert member.instagram_handle_status == HandleStatus.VALID
    assert member.tiktok_handle_raw == "JaneDoe"
    assert member.tiktok_handle == "janedoe"
    assert member.tiktok_handle_status == HandleStatus.VALID
    assert member.synced_at is not None


def test_it_updates_the_existing_member_instead_of_adding_one() -> None:
    # given
    tenant = TenantFactory()
    first = upsert_member(tenant, wll_user("u-1", instagram="jane.doe"))

    # when
    second = upsert_member(tenant, wll_user("u-1", "auth|new", instagram="@JaneD"))

    # then
    assert second.pk == first.pk
    assert Member.objects.count() == 1
    second.refresh_from_db()
    assert second.auth_identifier == "auth|new"
    assert second.instagram_handle == "janed"
    assert second.tiktok_handle_status == HandleStatus.MISSING


def test_a_new_instagram_handle_unlinks_the_old_account_but_keeps_the_follow(
    wll: mock.MagicMock,
) -> None:
    # given a member linked to an Instagram account, who follows the brand
    tenant = TenantFactory()
    member = upsert_member(tenant, wll_user("u-1", instagram="jane.doe"))
    Member.objects.filter(pk=member.pk).update(igsid="6100", follow_status="true")
    untouched = upsert_member(tenant, wll_user("u-2", instagram="bob"))
    Member.objects.filter(pk=untouched.pk).update(igsid="6200")

    # when the member registers another handle, through a refresh and a sync
    upsert_member(tenant, wll_user("u-1", instagram="jane.new"))
    member.refresh_from_db()
    refreshed_igsid = member.igsid
    Member.objects.filter(pk=member.pk).update(
        igsid="6101",
        tiktok_account_status=TikTokAccountStatus.NOT_FOUND,
        tiktok_checked_at=timezone.now(),
    )
    wll.list_users.return_value = [
        wll_user("u-1", instagram="jane.newer", tiktok="jane.found"),
        wll_user("u-2", instagram="bob"),
    ]
    sync_tenant(tenant)

    # then
    member.refresh_from_db()
    assert refreshed_igsid is None
    assert (member.tiktok_account_status, member.tiktok_checked_at) == (
        TikTokAccountStatus.UNKNOWN,
        None,
    )
    assert (member.instagram_handle, member.igsid) == ("jane.newer", None)
    assert member.follow_status == "true"
    untouched.refresh_from_db()
    assert untouched.igsid == "6200"


def test_it_keeps_members_of_different_tenants_apart() -> None:
    acme, other = TenantFactory(), TenantFactory()

    upsert_member(acme, wll_user("u-1", instagram="jane"))
    upsert_member(other, wll_user("u-1", instagram="john"))

    assert Member.objects.get(tenant=acme).instagram_handle == "jane"
    assert Member.objects.get(tenant=other).instagram_handle == "john"


def test_it_announces_a_new_handle_once(
    announced: list[Member], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    tenant = TenantFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        member = upsert_member(tenant, wll_user("u-1", instagram="@Jane"))
    with django_capture_on_commit_callbacks(execute=True):
        upsert_member(tenant, wll_user("u-1", instagram="jane"))  # same handle

    # then
    assert [each.pk for each in announced] == [member.pk]


def test_it_announces_only_after_the_transaction_commits(
    announced: list[Member], django_capture_on_commit_callbacks: Any
) -> None:
    tenant = TenantFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upsert_member(tenant, wll_user("u-1", instagram="jane"))

    assert announced == []
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("before", "after", "announces"),
    [
        ({"instagram": "jane"}, {"instagram": "jane.new"}, True),
        ({"instagram": "jane"}, {"instagram": "jane", "tiktok": "jane"}, True),
        ({"instagram": "jane"}, {}, False),
        ({"instagram": "jane"}, {"instagram": "not a handle"}, False),
        ({"instagram": "jane"}, {"instagram": "@JANE"}, False),
    ],
)
def test_it_announces_only_changes_to_a_non_empty_handle(
    announced: list[Member],
    django_capture_on_commit_callbacks: Any,
    before: dict,
    after: dict,
    announces: bool,
) -> None:
    tenant = TenantFactory()
    upsert_member(tenant, wll_user("u-1", **before))

    with django_capture_on_commit_callbacks(execute=True):
        upsert_member(tenant, wll_user("u-1", **after))

    assert len(announced) == (1 if announces else 0)


def test_it_records_an_invalid_handle_without_matching_it() -> None:
    tenant = TenantFactory()
    user = wll_user("u-1", instagram="jane doe!", tiktok="x")

    member = upsert_member(tenant, user)

    member.refresh_from_db()
    assert member.instagram_handle_raw == "jane doe!"
    assert member.instagram_handle == ""
    assert member.instagram_handle_status == HandleStatus.INVALID
    assert member.tiktok_handle_status == HandleStatus.INVALID


def test_it_stores_an_unstorable_handle_in_a_visible_form() -> None:
    # NUL characters are refused by PostgreSQL; 600 characters overflow the column.
    tenant = TenantFactory()
    user = wll_user("u-1", instagram="ja\x00ne", tiktok="t" * 600)

    member = upsert_member(tenant, user)

    member.refresh_from_db()
    assert member.instagram_handle_raw == "ja\ufffdne"
    assert member.instagram_handle_status == HandleStatus.INVALID
    assert len(member.tiktok_handle_raw) == 512
    assert member.tiktok_handle_status == HandleStatus.INVALID


@pytest.mark.parametrize("value", [12, ["jane"], {"name": "jane"}, True])
def test_it_records_a_non_text_handle_as_invalid(value: Any) -> None:
    member = upsert_member(TenantFactory(), wll_user("u-1", instagram=value))

    assert member.instagram_handle == ""
    assert member.instagram_handle_status == HandleStatus.INVALID
    assert member.instagram_handle_raw == repr(value)


@pytest.mark.parametrize(
    "user",
    [
        {"authIdentifier": "auth|1"},
        {"id": "", "authIdentifier": "auth|1"},
        {"id": 42},
        {"id": "a" * 129},
        {"id": "u\x00"},
        {"id": "u-1", "authIdentifier": 7},
        {"id": "u-1", "profile": {"attributes": ["instagramHandle"]}},
        {"id": "u-1", "profile": "Jane"},
        ["not", "an", "object"],
        None,
    ],
)
def test_it_refuses_a_malformed_user_object(user: Any) -> None:
    with pytest.raises(members.InvalidUserError):
        upsert_member(TenantFactory(), user)

    assert Member.objects.count() == 0


def test_it_accepts_a_user_without_profile_or_auth_identifier() -> None:
    member = upsert_member(TenantFactory(), {"id": "u-1", "authIdentifier": None})

    assert member.auth_identifier == ""
    assert member.instagram_handle_status == HandleStatus.MISSING


# -- full sync ---------------------------------------------------------------


def test_it_pages_until_a_short_page(wll: mock.MagicMock) -> None:
    # given
    tenant = TenantFactory()
    pages = Pages(users(7))
    wll.list_users.side_effect = pages

    # when
    result = sync_tenant(tenant, page_size=3)

    # then
    assert pages.calls == [(3, 0), (3, 3), (3, 6)]
    assert (result.seen, result.created, result.updated) == (7, 7, 0)
    handles = Member.objects.filter(tenant=tenant).values_list(
        "instagram_handle", flat=True
    )
    assert sorted(handles) == [f"member.{n}" for n in range(7)]


def test_it_asks_once_more_after_an_exactly_full_last_page(
    wll: mock.MagicMock,
) -> None:
    pages = Pages(users(6))
    wll.list_users.side_effect = pages

    result = sync_tenant(TenantFactory(), page_size=3)

    assert pages.calls == [(3, 0), (3, 3), (3, 6)]
    assert result.created == 6


def test_it_never_asks_for_more_than_wll_allows(wll: mock.MagicMock) -> None:
    pages = Pages(users(2))
    wll.list_users.side_effect = pages

    sync_tenant(TenantFactory(), page_size=5000)

    assert pages.calls == [(1000, 0)]


def test_it_skips_a_bad_user_object_and_syncs_the_rest(wll: mock.MagicMock) -> None:
    # given
    tenant = TenantFactory()
    everyone = [
        *users(2),
        {"authIdentifier": "auth|no-id"},
        {"id": 99, "authIdentifier": "auth|int-id"},
        {"id": "u-list", "profile": {"attributes": "jane"}},
        "not an object",
        *users(2, start=2),
    ]
    wll.list_users.side_effect = Pages(everyone)

    # when
    result = sync_tenant(tenant, page_size=3)

    # then
    assert (result.seen, result.created, result.skipped) == (8, 4, 4)
    ids = Member.objects.filter(tenant=tenant).values_list("wll_user_id", flat=True)
    assert sorted(ids) == ["user-0", "user-1", "user-2", "user-3"]


def test_it_counts_updates_and_invalid_handles(wll: mock.MagicMock) -> None:
    # given
    tenant = TenantFactory()
    wll.list_users.side_effect = Pages(users(3))
    sync_tenant(tenant)
    before = timezone.now()
    changed = users(3)
    changed[1]["profile"]["attributes"]["instagramHandle"] = "new.handle"
    changed[2]["profile"]["attributes"]["tiktokHandle"] = "not valid!"
    wll.list_users.side_effect = Pages(changed)

    # when
    result = sync_tenant(tenant)

    # then
    assert (result.seen, result.created, result.updated) == (3, 0, 2)
    assert result.invalid_handles == 1
    member = Member.objects.get(wll_user_id="user-1")
    assert member.instagram_handle == "new.handle"
    invalid = Member.objects.get(wll_user_id="user-2")
    assert invalid.tiktok_handle_status == HandleStatus.INVALID
    assert invalid.tiktok_handle_raw == "not valid!"
    # Unchanged members are marked as seen too.
    assert Member.objects.filter(synced_at__lt=before).count() == 0


def test_it_announces_new_handles_found_by_a_sync(
    wll: mock.MagicMock,
    announced: list[Member],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    tenant = TenantFactory()
    upsert_member(tenant, wll_user("user-0", instagram="member.0"))
    everyone = users(3)
    everyone.append(wll_user("user-3", "auth|3"))  # no handle: nothing to match
    wll.list_users.side_effect = Pages(everyone)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        sync_tenant(tenant)

    # then
    assert sorted(member.wll_user_id for member in announced) == ["user-1", "user-2"]
    assert all(member.pk for member in announced)


def test_it_writes_a_page_without_a_query_per_member(
    wll: mock.MagicMock, django_assert_max_num_queries: Any
) -> None:
    # given: 300 members known, 100 of them changed since, and 100 new ones
    tenant = TenantFactory()
    wll.list_users.side_effect = Pages(users(300))
    sync_tenant(tenant)
    everyone = users(400)
    for user in everyone[:100]:
        user["profile"]["attributes"]["tiktokHandle"] = "changed"
    wll.list_users.side_effect = Pages(everyone)

    # when: a few batched statements (SQLite batches inserts by its parameter
    # limit), never one per member
    with django_assert_max_num_queries(30):
        result = sync_tenant(tenant)

    # then
    assert (result.created, result.updated) == (100, 100)
    assert Member.objects.filter(tenant=tenant, tiktok_handle="changed").count() == 100


def test_it_falls_back_to_one_by_one_when_a_page_races_a_refresh(
    wll: mock.MagicMock,
) -> None:
    # given
    tenant = TenantFactory()
    wll.list_users.side_effect = Pages(users(3))

    # when
    with mock.patch("loyalty.members._write_page", side_effect=IntegrityError):
        result = sync_tenant(tenant)

    # then
    assert (result.created, result.updated) == (3, 0)
    assert Member.objects.filter(tenant=tenant).count() == 3


def test_one_failing_tenant_does_not_stop_the_others(
    client_class: mock.MagicMock,
) -> None:
    # given
    broken, fine = TenantFactory(slug="broken"), TenantFactory(slug="fine")

    def client_for(tenant: Any) -> mock.MagicMock:
        client = mock.MagicMock()
        if tenant.slug == "broken":
            client.list_users.side_effect = LoyaltyRetryableError("HTTP 503")
        else:
            client.list_users.side_effect = Pages(users(2))
        return client

    client_class.side_effect = client_for

    # when
    outcomes = sync_tenants([broken, fine])

    # then
    assert [outcome.slug for outcome in outcomes] == ["broken", "fine"]
    assert "HTTP 503" in outcomes[0].error
    assert outcomes[1].error == ""
    assert outcomes[1].result is not None and outcomes[1].result.created == 2


# -- refresh by webhook subject ----------------------------------------------


def test_it_refreshes_a_known_member_by_auth_identifier(wll: mock.MagicMock) -> None:
    # given
    tenant = TenantFactory()
    member = MemberFactory(tenant=tenant, wll_user_id="u-1", auth_identifier="auth|1")
    wll.get_user.return_value = wll_user("u-1", "auth|1", instagram="@Jane")

    # when
    refreshed = refresh_member(tenant, "auth|1")

    # then
    wll.get_user.assert_called_once_with("u-1")
    wll.list_users.assert_not_called()
    assert refreshed is not None and refreshed.pk == member.pk
    assert refreshed.instagram_handle == "jane"


def test_it_refreshes_a_known_member_by_wll_id(wll: mock.MagicMock) -> None:
    tenant = TenantFactory()
    MemberFactory(tenant=tenant, wll_user_id="u-1", auth_identifier="auth|1")
    wll.get_user.return_value = wll_user("u-1", "auth|1", tiktok="janedoe")

    refreshed = refresh_member(tenant, "u-1")

    assert refreshed is not None and refreshed.tiktok_handle == "janedoe"


def test_it_fetches_an_unknown_subject_that_is_a_wll_id(wll: mock.MagicMock) -> None:
    tenant = TenantFactory()
    user_id = str(uuid.uuid4())
    wll.get_user.return_value = wll_user(user_id, "auth|9", instagram="new.member")

    refreshed = refresh_member(tenant, user_id)

    wll.get_user.assert_called_once_with(user_id)
    wll.list_users.assert_not_called()
    assert refreshed is not None and refreshed.wll_user_id == user_id


def test_it_syncs_the_tenant_to_find_an_unknown_auth_identifier(
    wll: mock.MagicMock,
) -> None:
    # given
    tenant = TenantFactory()
    wll.list_users.side_effect = Pages(users(4))

    # when
    refreshed = refresh_member(tenant, "auth|2")

    # then
    wll.get_user.assert_not_called()  # "auth|2" cannot be a /users/{id}
    assert refreshed is not None and refreshed.wll_user_id == "user-2"
    assert Member.objects.filter(tenant=tenant).count() == 4


def test_it_syncs_the_tenant_when_a_wll_id_subject_is_not_found(
    wll: mock.MagicMock,
) -> None:
    tenant = TenantFactory()
    subject = str(uuid.uuid4())
    wll.get_user.side_effect = LoyaltyNotFoundError(404, "Not Found")
    wll.list_users.side_effect = Pages([wll_user("u-1", subject)])

    refreshed = refresh_member(tenant, subject)

    assert refreshed is not None and refreshed.wll_user_id == "u-1"


def test_it_answers_none_when_nobody_has_that_subject(wll: mock.MagicMock) -> None:
    tenant = TenantFactory()
    wll.list_users.side_effect = Pages(users(2))

    assert refresh_member(tenant, "auth|nobody") is None


def test_it_leaves_a_member_wll_no_longer_has(wll: mock.MagicMock) -> None:
    tenant = TenantFactory()
    MemberFactory(tenant=tenant, wll_user_id="u-1", auth_identifier="auth|1")
    wll.get_user.side_effect = LoyaltyNotFoundError(404, "Not Found")

    assert refresh_member(tenant, "auth|1") is None
    wll.list_users.assert_not_called()
    assert Member.objects.filter(wll_user_id="u-1").exists()


def test_a_burst_of_webhooks_for_new_users_costs_one_full_sync(
    wll: mock.MagicMock,
) -> None:
    # given: two webhooks received before the first refresh ran
    tenant = TenantFactory()
    received = timezone.now() - timedelta(seconds=5)
    pages = Pages(users(3))
    wll.list_users.side_effect = pages

    # when
    first = refresh_member(tenant, "auth|1", received_at=received)
    second = refresh_member(tenant, "auth|nobody", received_at=received)
    later = timezone.now() + timedelta(seconds=5)
    refresh_member(tenant, "auth|nobody", received_at=later)

    # then
    assert first is not None and second is None
    assert pages.calls == [(1000, 0), (1000, 0)]


# -- task and command --------------------------------------------------------


def test_the_refresh_task_reports_what_it_did(wll: mock.MagicMock) -> None:
    tenant = TenantFactory(slug="acme")
    member = MemberFactory(tenant=tenant, wll_user_id="u-1", auth_identifier="auth|1")
    wll.get_user.return_value = wll_user("u-1", "auth|1")
    received = timezone.now().isoformat()

    summary = tasks.refresh_member(tenant.pk, "auth|1", received_at=received)

    assert summary == f"acme: refreshed member {member.pk}"


def test_the_scheduled_sync_fails_visibly_when_a_tenant_failed(
    client_class: mock.MagicMock,
) -> None:
    TenantFactory(slug="acme")
    client_class.return_value.list_users.side_effect = LoyaltyRetryableError("503")

    with pytest.raises(RuntimeError, match="acme"):
        tasks.sync_all_members()


def test_the_command_prints_counts_per_tenant(client_class: mock.MagicMock) -> None:
    # given
    TenantFactory(slug="acme")
    TenantFactory(slug="unset", api_key="")  # not configured: left alone
    client_class.return_value.list_users.side_effect = Pages(users(2))
    out = StringIO()

    # when
    call_command("sync_members", stdout=out)

    # then
    counts = "seen=2 created=2 updated=0 invalid_handles=0 skipped=0"
    assert f"acme: {counts}" in out.getvalue()
    assert "unset" not in out.getvalue()


def test_the_command_reports_a_failed_tenant_and_runs_the_others(
    client_class: mock.MagicMock,
) -> None:
    # given
    TenantFactory(slug="broken")
    TenantFactory(slug="fine")

    def client_for(tenant: Any) -> mock.MagicMock:
        client = mock.MagicMock()
        client.list_users.side_effect = (
            LoyaltyRetryableError("HTTP 503") if tenant.slug == "broken" else Pages([])
        )
        return client

    client_class.side_effect = client_for
    out, err = StringIO(), StringIO()

    # when
    with pytest.raises(CommandError, match="broken"):
        call_command("sync_members", stdout=out, stderr=err)

    # then
    assert "broken: failed" in err.getvalue()
    assert "fine: seen=0" in out.getvalue()


def test_the_command_syncs_one_tenant_by_slug(client_class: mock.MagicMock) -> None:
    TenantFactory(slug="acme")
    TenantFactory(slug="other")
    client_class.return_value.list_users.side_effect = Pages(users(1))
    out = StringIO()

    call_command("sync_members", "--tenant", "acme", stdout=out)

    assert "acme: seen=1" in out.getvalue()
    assert "other" not in out.getvalue()


def test_the_command_refuses_an_unknown_tenant() -> None:
    with pytest.raises(CommandError, match="nope"):
        call_command("sync_members", "--tenant", "nope")


# -- against the emulator, through the real client ---------------------------


@pytest.mark.django_db(transaction=True)
def test_it_syncs_and_refreshes_through_the_emulator(live_server: Any) -> None:
    # given: three users in the emulator, paged two at a time
    remote = SandboxLoyaltyTenantFactory(slug="acme")
    tenant = TenantFactory(
        slug="acme",
        api_base_url=f"{live_server.url}/sandbox/loyalty/v1",
        auth_url=f"{live_server.url}/sandbox/loyalty",
    )
    for n, handle in enumerate(["@Jane.Doe", "instagram.com/john_s", "no good!"]):
        profile = {"givenName": "M", "attributes": {"instagramHandle": handle}}
        SandboxLoyaltyUserFactory(
            tenant=remote, auth_identifier=f"auth|{n}", profile=profile
        )

    # when
    result = sync_tenant(tenant, page_size=2)

    # then
    assert (result.seen, result.created, result.invalid_handles) == (3, 3, 1)
    handles = Member.objects.filter(tenant=tenant).values_list(
        "auth_identifier", "instagram_handle"
    )
    expected = [("auth|0", "jane.doe"), ("auth|1", "john_s"), ("auth|2", "")]
    assert sorted(handles) == expected

    # when: the member changes their handle and WLL's webhook names them
    user = SandboxLoyaltyUser.objects.get(auth_identifier="auth|1")
    user.profile["attributes"]["instagramHandle"] = "@John.Smith"
    user.save()
    refreshed = refresh_member(tenant, "auth|1")

    # then
    assert refreshed is not None and refreshed.instagram_handle == "john.smith"
