"""One upsert per kind of world-file item; each returns whether it created a row.

Called by ``world.load_world`` inside its transaction, after the file's shape
and references were checked.
"""

import hashlib
import time
from typing import Any, Protocol

from django.conf import settings

from integrations.meta.emulator.login import PERMISSIONS, TESTER_ID
from integrations.meta.onboarding import SUBSCRIBED_FIELDS
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
from integrations.tiktok.emulator.index import hashtag_index
from integrations.tiktok.hashtags import InvalidHashtag, normalize_hashtag
from loyalty.models import SandboxLoyaltyTenant, SandboxLoyaltyUser, Tenant

# World-file keys copied as they are onto the emulator's rows.
_INSTAGRAM_USER_FIELDS = (
    "username",
    "name",
    "account_type",
    "is_private",
    "follower_count",
    "follows_count",
    "media_count",
    "biography",
    "profile_pic",
    "follows",
)
_TIKTOK_USER_FIELDS = (
    "display_name",
    "follower_count",
    "following_count",
    "bio_description",
    "avatar_url",
    "is_private",
)
_TIKTOK_VIDEO_FIELDS = ("username", "video_description", "like_count", "comment_count")
_MEDIA_FIELDS = (
    "comments",
    "username",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "thumbnail_url",
    "permalink",
    "timestamp",
    "like_count",
    "comments_count",
    "mentions",
    "tags",
)


class Counter(Protocol):
    def count(self, section: str, created: bool) -> None: ...


def tenant(item: dict[str, Any], report: Counter) -> bool:
    """The portal's tenant, pointed at the Loyalty Engine emulator, and its twin."""
    slug = item["slug"]
    sandbox_url = f"{settings.PUBLIC_BASE_URL}/sandbox/loyalty"
    secrets = {
        "api_key": item["loyalty_api_key"],
        "client_id": credentials.loyalty_client_id(slug),
        "client_secret": credentials.loyalty_client_secret(slug),
    }

    portal, created = Tenant.objects.update_or_create(
        slug=slug,
        defaults={
            "name": item["name"],
            "api_base_url": f"{sandbox_url}/v1",
            "auth_url": sandbox_url,
            "webhook_secret": credentials.loyalty_webhook_secret(slug),
            **secrets,
        },
    )
    SandboxLoyaltyTenant.objects.update_or_create(slug=slug, defaults=secrets)

    if "instagram" in item:
        report.count("brand_connections", _brand(portal, item["instagram"]))
    for keyword in item.get("dm_keywords", []):
        report.count("dm_keywords", _keyword(portal, keyword))
    for hashtag in item.get("tracked_hashtags", []):
        report.count("tracked_hashtags", _hashtag(portal, hashtag))
    return created


def loyalty_user(item: dict[str, Any], report: Counter) -> bool:
    current = SandboxLoyaltyUser.objects.filter(pk=item["id"]).first()
    defaults: dict[str, Any] = {
        "tenant": SandboxLoyaltyTenant.objects.get(slug=item["tenant"]),
        "profile": _merged_profile(current.profile if current else {}, item),
    }
    if "auth_identifier" in item:
        defaults["auth_identifier"] = item["auth_identifier"]
    if "account_number" in item:
        defaults["account_number"] = item["account_number"]
    elif current is None:
        defaults["account_number"] = _account_number(item["id"])

    _, created = SandboxLoyaltyUser.objects.update_or_create(
        id=item["id"], defaults=defaults
    )
    return created


def instagram_user(item: dict[str, Any], report: Counter) -> bool:
    current = SandboxInstagramUser.objects.filter(igsid=item["igsid"]).first()
    defaults = {name: item[name] for name in _INSTAGRAM_USER_FIELDS if name in item}
    if "messaged" in item:
        already = current.messaged if current else []
        defaults["messaged"] = sorted(set(already) | set(item["messaged"]))

    _, created = SandboxInstagramUser.objects.update_or_create(
        igsid=item["igsid"], defaults=defaults
    )
    return created


def instagram_media(item: dict[str, Any], report: Counter) -> bool:
    defaults = {name: item[name] for name in _MEDIA_FIELDS if name in item}
    _, created = SandboxMedia.objects.update_or_create(
        media_id=item["id"], defaults=defaults
    )
    return created


def tiktok_user(item: dict[str, Any], report: Counter) -> bool:
    defaults = {name: item[name] for name in _TIKTOK_USER_FIELDS if name in item}
    _, created = SandboxTikTokUser.objects.update_or_create(
        username=item["username"], defaults=defaults
    )
    return created


def tiktok_video(item: dict[str, Any], report: Counter) -> bool:
    defaults: dict[str, Any] = {
        name: item[name] for name in _TIKTOK_VIDEO_FIELDS if name in item
    }
    if "video_description" in item:
        defaults["hashtag_index"] = hashtag_index(item["video_description"])
    if "create_time" in item:
        defaults["create_time"] = item["create_time"]
    elif not SandboxTikTokVideo.objects.filter(video_id=item["id"]).exists():
        defaults["create_time"] = int(time.time())  # posted as the world loads
    _, created = SandboxTikTokVideo.objects.update_or_create(
        video_id=item["id"], defaults=defaults
    )
    return created


def _hashtag(portal: Tenant, raw: str) -> bool:
    try:
        hashtag = normalize_hashtag(raw)
    except InvalidHashtag as error:
        raise ValueError(f"tracked hashtag {raw!r}: {error}") from None
    _, created = TrackedHashtag.objects.get_or_create(tenant=portal, hashtag=hashtag)
    return created


def _brand(portal: Tenant, block: dict[str, Any]) -> bool:
    """Meta's side (the emulator's brand) and, unless the block says
    ``"connected": false``, ours (the connection), sharing one Page token.

    An unconnected brand exists only on Meta's side: the tester connects it
    through the invitation flow. Reloading never undoes such a connection.
    """
    token = credentials.page_token(portal.slug)
    account = {
        "ig_user_id": block["ig_user_id"],
        "username": block["username"],
        "page_id": block["page_id"],
        "page_token": token,
    }
    connected = block.get("connected", True)
    meta_side = {**account, "page_name": block.get("page_name", "")}
    if connected:
        meta_side["subscribed_fields"] = list(SUBSCRIBED_FIELDS)
    SandboxBrand.objects.update_or_create(slug=portal.slug, defaults=meta_side)
    if not connected:
        return False

    _, created = BrandConnection.objects.update_or_create(
        ig_user_id=block["ig_user_id"],
        defaults={
            **account,
            "tenant": portal,
            "status": ConnectionStatus.CONNECTED,
            "status_reason": "",
            "fb_user_id": TESTER_ID,
            "granted_scopes": list(PERMISSIONS),
            "subscribed_fields": list(SUBSCRIBED_FIELDS),
        },
    )
    return created


def _keyword(portal: Tenant, keyword: str) -> bool:
    # Keywords are unique per tenant regardless of case (a database constraint);
    # the spelling stored first is kept.
    word = keyword.strip()
    if DmKeyword.objects.filter(tenant=portal, keyword__iexact=word).exists():
        return False
    DmKeyword.objects.create(tenant=portal, keyword=word)
    return True


def _merged_profile(current: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    given = dict(item.get("profile", {}))
    attributes = {
        **current.get("attributes", {}),
        **given.pop("attributes", {}),
        **item.get("attributes", {}),
    }
    profile = {**current, **given}
    profile["attributes"] = {k: v for k, v in attributes.items() if v is not None}
    return {k: v for k, v in profile.items() if v is not None}


def _account_number(user_id: str) -> str:
    """WLL's 7-digit account number, derived so reloading keeps it."""
    digest = int(hashlib.sha256(user_id.encode()).hexdigest(), 16)
    return str(1_000_000 + digest % 9_000_000)
