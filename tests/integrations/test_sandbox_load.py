import json
import sys
import types
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from integrations.models import (
    BrandConnection,
    ConnectionStatus,
    DmKeyword,
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
    SandboxTikTokUser,
    SandboxTikTokVideo,
    TrackedHashtag,
)
from integrations.sandbox import credentials
from loyalty.handles import normalize_instagram
from loyalty.models import (
    HandleStatus,
    Member,
    SandboxLoyaltyEvent,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
    Tenant,
)

DEMO_WORLD = Path(settings.BASE_DIR) / "integrations" / "sandbox" / "demo-world.json"

pytestmark = pytest.mark.django_db


def load(path: Path, *options: str) -> str:
    out = StringIO()
    call_command("sandbox_load", str(path), *options, stdout=out)
    return out.getvalue()


def write_world(tmp_path: Path, world: dict[str, Any], name: str = "w.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(world))
    return path


def cafe_world(**extra: Any) -> dict[str, Any]:
    """A minimal one-tenant world; keyword arguments add or replace sections."""
    world: dict[str, Any] = {
        "tenants": [
            {
                "slug": "cafe",
                "name": "Cafe",
                "loyalty_api_key": "k-cafe",
                "instagram": {
                    "ig_user_id": "17841400000000009",
                    "username": "cafe",
                    "page_id": "100000000000009",
                },
                "dm_keywords": ["HELLO"],
            }
        ],
        "instagram_users": [
            {"igsid": "6100000000000009", "username": "val.ue", "follows": ["cafe"]}
        ],
    }
    world.update(extra)
    return world


def test_it_loads_the_demo_world() -> None:
    # when
    assert "tracked_hashtags" in load(DEMO_WORLD)

    # then
    acme = Tenant.objects.get(slug="acme")
    assert acme.name == "Acme Coffee"
    assert acme.api_base_url == f"{settings.PUBLIC_BASE_URL}/sandbox/loyalty/v1"
    assert acme.token_url == f"{settings.PUBLIC_BASE_URL}/sandbox/loyalty/oauth/token"
    assert acme.api_key == "k-acme"
    assert acme.client_id == "sandbox-client-acme"
    assert acme.webhook_secret == credentials.loyalty_webhook_secret("acme")

    twin = SandboxLoyaltyTenant.objects.get(slug="acme")
    assert (twin.api_key, twin.client_id, twin.client_secret) == (
        acme.api_key,
        acme.client_id,
        acme.client_secret,
    )

    connection = BrandConnection.objects.get(tenant=acme)
    brand = SandboxBrand.objects.get(slug="acme")
    assert connection.ig_user_id == brand.ig_user_id == "17841405822304914"
    assert connection.page_token == brand.page_token
    assert connection.status == ConnectionStatus.CONNECTED

    assert sorted(
        DmKeyword.objects.filter(tenant=acme).values_list("keyword", flat=True)
    ) == [
        "JOIN",
        "WINTER",
    ]
    assert Tenant.objects.count() == 3
    assert SandboxLoyaltyUser.objects.count() >= 12
    assert SandboxInstagramUser.objects.count() >= 12
    assert TrackedHashtag.objects.filter(tenant=acme, hashtag="acmecoffee").exists()
    assert SandboxTikTokVideo.objects.count() == 3
    assert SandboxTikTokUser.objects.get(username="zoe.muller").is_private


def test_it_stores_loyalty_profiles_as_given() -> None:
    # when
    load(DEMO_WORLD)

    # then
    jane = SandboxLoyaltyUser.objects.get(pk="cea059ae-6256-4926-b6a9-3f95528b56dd")
    assert jane.tenant.slug == "acme"
    assert jane.auth_identifier == "auth0|64f1a2b3c4d5e6f7a8b90001"
    assert jane.profile["givenName"] == "Jane"
    assert jane.profile["attributes"]["instagramHandle"] == "@Jane.Doe"
    assert len(jane.account_number) == 7 and jane.account_number.isdigit()


def test_members_reach_the_index_only_through_sync() -> None:
    load(DEMO_WORLD)

    assert Member.objects.count() == 0


def test_the_demo_world_covers_every_case() -> None:
    # given
    world = json.loads(DEMO_WORLD.read_text())
    raw_handles = [
        user["profile"]["attributes"].get("instagramHandle")
        for user in world["loyalty_users"]
    ]
    normalized = [normalize_instagram(raw) for raw in raw_handles]
    ig_users = world["instagram_users"]

    # then: odd spellings and a URL that still name someone, an invalid handle,
    # no handle at all
    assert {"@Jane.Doe", " JOHN_smith "} <= set(raw_handles)
    assert ("some.one", HandleStatus.VALID) in normalized
    assert {HandleStatus.INVALID, HandleStatus.MISSING} <= {s for _, s in normalized}
    # every account kind, a private one, a non-follower, one nobody messaged
    assert {u["account_type"] for u in ig_users} == {"personal", "business", "creator"}
    assert any(u["is_private"] for u in ig_users)
    assert any(not u["follows"] for u in ig_users)
    assert any(not u.get("messaged") for u in ig_users)
    # an Instagram user no member claims: their DM stays unmatched
    claimed = {handle for handle, _ in normalized}
    assert {u["username"] for u in ig_users} - claimed
    assert all(len(u["igsid"]) == 16 for u in ig_users)
    assert all(len(v["id"]) == 19 for v in world["tiktok_videos"])


def test_loading_twice_is_stable() -> None:
    # given
    load(DEMO_WORLD)
    first = {
        "tenants": list(Tenant.objects.values_list("pk", "client_secret")),
        "tokens": list(BrandConnection.objects.values_list("pk", "page_token")),
        "users": list(SandboxLoyaltyUser.objects.values_list("pk", "account_number")),
    }

    # when
    output = load(DEMO_WORLD)

    # then
    assert first == {
        "tenants": list(Tenant.objects.values_list("pk", "client_secret")),
        "tokens": list(BrandConnection.objects.values_list("pk", "page_token")),
        "users": list(SandboxLoyaltyUser.objects.values_list("pk", "account_number")),
    }
    assert DmKeyword.objects.count() == 5
    assert "tenants: 0 new, 3 updated" in output


def test_a_later_file_changes_a_follow_and_adds_media(tmp_path: Path) -> None:
    # given
    load(write_world(tmp_path, cafe_world()))
    later = {
        "instagram_users": [
            {"igsid": "6100000000000009", "username": "val.ue", "follows": []}
        ],
        "instagram_media": [
            {
                "id": "17900000000000009",
                "username": "val.ue",
                "timestamp": "2026-12-01T09:00:00+0000",
                "mentions": ["cafe"],
            }
        ],
    }

    # when
    load(write_world(tmp_path, later, "later.json"))

    # then
    assert SandboxInstagramUser.objects.get(igsid="6100000000000009").follows == []
    assert SandboxMedia.objects.get(media_id="17900000000000009").mentions == ["cafe"]
    assert Tenant.objects.filter(slug="cafe").exists()


def test_reloading_keeps_attributes_the_portal_wrote(tmp_path: Path) -> None:
    # given
    member = {"tenant": "cafe", "id": "u-1", "attributes": {"instagramHandle": "a"}}
    load(write_world(tmp_path, cafe_world(loyalty_users=[member])))
    user = SandboxLoyaltyUser.objects.get(pk="u-1")
    user.profile["attributes"]["instagram_handle"] = "a"
    user.save()

    # when: the file changes one attribute and removes another with null
    member["attributes"] = {"instagramHandle": "b", "tiktokHandle": None}
    load(write_world(tmp_path, cafe_world(loyalty_users=[member])))

    # then
    attributes = SandboxLoyaltyUser.objects.get(pk="u-1").profile["attributes"]
    assert attributes == {"instagramHandle": "b", "instagram_handle": "a"}


def test_reloading_never_withdraws_consent(tmp_path: Path) -> None:
    # given
    load(write_world(tmp_path, cafe_world()))
    SandboxInstagramUser.objects.filter(username="val.ue").update(messaged=["cafe"])

    # when
    world = cafe_world()
    world["instagram_users"][0]["messaged"] = []
    load(write_world(tmp_path, world))

    # then
    assert SandboxInstagramUser.objects.get(username="val.ue").messaged == ["cafe"]


def test_keywords_are_unique_per_tenant_regardless_of_case(tmp_path: Path) -> None:
    world = cafe_world()
    world["tenants"][0]["dm_keywords"] = ["Hello", "HELLO", "hello "]

    load(write_world(tmp_path, world))
    load(write_world(tmp_path, world))

    assert list(DmKeyword.objects.values_list("keyword", flat=True)) == ["Hello"]


def test_reset_clears_the_sandbox_and_its_tenants(tmp_path: Path) -> None:
    # given
    load(DEMO_WORLD)
    acme = Tenant.objects.get(slug="acme")
    Member.objects.create(tenant=acme, wll_user_id="cea059ae")
    user = SandboxLoyaltyUser.objects.first()
    SandboxLoyaltyEvent.objects.create(
        tenant=user.tenant, user=user, type="DM_YOU_SOCIAL", subject=user.pk
    )

    # when
    load(write_world(tmp_path, cafe_world()), "--reset")

    # then
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["cafe"]
    assert Member.objects.count() == 0
    assert SandboxLoyaltyEvent.objects.count() == 0
    assert SandboxLoyaltyUser.objects.count() == 0
    assert list(SandboxInstagramUser.objects.values_list("username", flat=True)) == [
        "val.ue"
    ]
    assert list(SandboxBrand.objects.values_list("slug", flat=True)) == ["cafe"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda w: w["instagram_users"][0].pop("igsid"),
            "instagram_users[0] (val.ue): 'igsid' is a required property",
        ),
        (
            lambda w: w["instagram_users"][0].update(follows=["nope"]),
            "instagram_users[0] (val.ue): unknown tenant 'nope'",
        ),
        (
            lambda w: w.update(loyalty_users=[{"tenant": "nope", "id": "u-9"}]),
            "loyalty_users[0] (u-9): unknown tenant 'nope'",
        ),
        (
            lambda w: w["instagram_users"][0].update(follow=["cafe"]),
            "instagram_users[0] (val.ue): Additional properties are not allowed",
        ),
        (
            lambda w: w["instagram_users"][0].update(follower_count=-1),
            "instagram_users[0] (val.ue).follower_count: -1 is less than",
        ),
        (
            lambda w: w["instagram_users"].append(dict(w["instagram_users"][0])),
            "instagram_users[1] (val.ue): username 'val.ue' appears twice",
        ),
        (
            lambda w: w["tenants"][0].pop("loyalty_api_key"),
            "tenants[0] (cafe): 'loyalty_api_key' is a required property",
        ),
        (
            lambda w: w.update(
                instagram_media=[
                    {
                        "id": "1",
                        "username": "ghost",
                        "timestamp": "2026-12-01T09:00:00+0000",
                    }
                ]
            ),
            "instagram_media[0] (1): no instagram user 'ghost'",
        ),
    ],
)
def test_a_bad_file_names_the_item_and_loads_nothing(
    tmp_path: Path, change: Any, expected: str
) -> None:
    # given
    world = cafe_world()
    change(world)

    # when
    with pytest.raises(CommandError) as raised:
        load(write_world(tmp_path, world))

    # then
    assert expected in str(raised.value)
    assert "nothing loaded" in str(raised.value)
    assert not Tenant.objects.exists()
    assert not SandboxInstagramUser.objects.exists()


def test_it_reports_bad_json_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"tenants": [\n  {"slug": "x",}\n]}')

    with pytest.raises(CommandError, match=r"not valid JSON \(line 2"):
        load(path)


def test_a_conflict_with_stored_data_rolls_everything_back(tmp_path: Path) -> None:
    # given: val.ue is loaded with one igsid
    load(write_world(tmp_path, cafe_world()))
    other = cafe_world()
    other["tenants"][0].update(slug="cafe2", loyalty_api_key="k-cafe2")
    del other["tenants"][0]["instagram"]
    other["instagram_users"] = [{"igsid": "6100000000000010", "username": "val.ue"}]

    # when: another igsid claims the same username
    with pytest.raises(
        CommandError, match=r"instagram_users\[0\] \(val.ue\): conflicts"
    ):
        load(write_world(tmp_path, other, "other.json"))

    # then: the new tenant from the same file was not kept
    assert not Tenant.objects.filter(slug="cafe2").exists()


def test_it_refuses_to_run_without_the_sandbox(settings: Any) -> None:
    settings.SANDBOX = False

    with pytest.raises(CommandError, match="SANDBOX=1"):
        load(DEMO_WORLD)

    assert not Tenant.objects.exists()


def test_sync_runs_the_member_sync_for_each_loaded_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    synced: list[str] = []
    fake = types.ModuleType("loyalty.members")
    fake.sync_tenant = lambda tenant: synced.append(tenant.slug) or "3 seen"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "loyalty.members", fake)

    # when
    output = load(write_world(tmp_path, cafe_world()), "--sync")

    # then
    assert synced == ["cafe"]
    assert "synced members of cafe: 3 seen" in output


def test_sync_covers_tenants_named_only_by_new_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a loaded tenant, then a file that only adds one of its users
    load(write_world(tmp_path, cafe_world()))
    synced: list[str] = []
    fake = types.ModuleType("loyalty.members")
    fake.sync_tenant = lambda tenant: synced.append(tenant.slug) or "1 seen"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "loyalty.members", fake)
    users_only = {
        "loyalty_users": [
            {
                "tenant": "cafe",
                "id": "0b6f0000-0000-4000-8000-000000000009",
                "auth_identifier": "auth|9",
                "attributes": {"instagramHandle": "val.ue"},
            }
        ]
    }

    # when
    output = load(write_world(tmp_path, users_only), "--sync")

    # then
    assert synced == ["cafe"]
    assert "synced members of cafe" in output


def test_a_file_that_is_not_a_world_says_so_briefly(tmp_path: Path) -> None:
    path = write_world(tmp_path, list(range(1000)))  # type: ignore[arg-type]

    with pytest.raises(CommandError) as raised:
        load(path)

    assert "world file: [0, 1, 2" in str(raised.value)
    assert "is not of type 'object'" in str(raised.value)
    assert len(str(raised.value)) < 400


def test_it_lists_several_shape_errors_in_file_order(tmp_path: Path) -> None:
    world = cafe_world()
    world["instagram_users"] = [
        {"igsid": "1", "username": f"user{n}", "follower_count": -1} for n in range(12)
    ]

    with pytest.raises(CommandError) as raised:
        load(write_world(tmp_path, world))

    lines = str(raised.value).splitlines()[1:]
    assert [line.split(")")[0] for line in lines] == [
        f"instagram_users[{n}] (user{n}" for n in range(5)
    ]
