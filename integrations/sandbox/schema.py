"""The JSON Schema of a sandbox world file (DESIGN §5).

Items reject unknown keys so a typo ("follow" for "follows") fails the load
instead of being silently ignored. Every item may carry a free-text ``note``
saying which case it demonstrates; the loader ignores it.
"""

from typing import Any

_NOTE = {"type": "string"}
_SLUG = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,49}$"}
_SLUGS = {"type": "array", "items": _SLUG}
_DIGITS = {"type": "string", "pattern": r"^[0-9]{1,64}$"}
_COUNT = {"type": "integer", "minimum": 0}
_URL = {"type": "string", "pattern": r"^https?://", "maxLength": 500}
# What Instagram itself allows in a username; members' odd spellings belong in
# the loyalty profile's ``instagramHandle``, not here.
_IG_USERNAME = {"type": "string", "pattern": r"^[a-z0-9._]{1,30}$"}


def _item(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": {"note": _NOTE, **properties},
        "additionalProperties": False,
    }


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_INSTAGRAM_BLOCK = _item(
    ["ig_user_id", "username", "page_id"],
    {
        "ig_user_id": _DIGITS,
        "username": _IG_USERNAME,
        "page_id": _DIGITS,
        "page_name": {"type": "string", "maxLength": 200},
        # false: only Meta's side exists; connect it through an invitation.
        "connected": {"type": "boolean"},
    },
)

TENANT = _item(
    ["slug", "name", "loyalty_api_key"],
    {
        "slug": _SLUG,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "loyalty_api_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "instagram": _INSTAGRAM_BLOCK,
        "dm_keywords": _list_of({"type": "string", "pattern": r"\S", "maxLength": 100}),
        "tracked_hashtags": _list_of({"type": "string", "minLength": 1}),
    },
)

LOYALTY_USER = _item(
    ["tenant", "id"],
    {
        "tenant": _SLUG,
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "auth_identifier": {"type": "string", "maxLength": 512},
        "account_number": {"type": "string", "pattern": r"^[0-9]{7}$"},
        # WLL's profile object (givenName, familyName, emailAddress, ...,
        # attributes); "attributes" beside it is a shortcut for the same map.
        "profile": {"type": "object"},
        "attributes": {"type": "object"},
    },
)

INSTAGRAM_USER = _item(
    ["igsid", "username"],
    {
        "igsid": _DIGITS,
        "username": _IG_USERNAME,
        "name": {"type": "string", "maxLength": 200},
        "account_type": {"enum": ["personal", "business", "creator"]},
        "is_private": {"type": "boolean"},
        "follower_count": _COUNT,
        "follows_count": _COUNT,
        "media_count": _COUNT,
        "biography": {"type": "string"},
        "profile_pic": _URL,
        "follows": _SLUGS,
        "messaged": _SLUGS,
    },
)

INSTAGRAM_MEDIA = _item(
    ["id", "username", "timestamp"],
    {
        "id": _DIGITS,
        "username": _IG_USERNAME,
        "caption": {"type": "string"},
        "media_type": {"enum": ["IMAGE", "VIDEO", "CAROUSEL_ALBUM"]},
        "media_product_type": {"enum": ["FEED", "REELS", "STORY", "AD"]},
        "media_url": _URL,
        "thumbnail_url": _URL,
        "permalink": _URL,
        # Graph API's own format, e.g. 2026-12-01T09:00:00+0000.
        "timestamp": {
            "type": "string",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$",
        },
        "like_count": _COUNT,
        "comments_count": _COUNT,
        "mentions": _SLUGS,
        "tags": _SLUGS,
        "comments": _list_of(
            _item(
                ["id"],
                {
                    "id": _DIGITS,
                    "text": {"type": "string"},
                    "timestamp": {"type": "string"},
                    "mentions": _SLUGS,
                },
            )
        ),
    },
)

TIKTOK_USER = _item(
    ["username"],
    {
        "username": {"type": "string", "pattern": r"^[a-z0-9._]{2,24}$"},
        "display_name": {"type": "string"},
        "follower_count": _COUNT,
        "following_count": _COUNT,
        "bio_description": {"type": "string"},
        "avatar_url": _URL,
        "is_private": {"type": "boolean"},
    },
)

TIKTOK_VIDEO = _item(
    ["id", "username"],
    {
        # TikTok video ids overflow JavaScript numbers, so they travel as strings.
        "id": {"type": "string", "pattern": r"^[0-9]{19}$"},
        # Any text: TikTok's own usernames have been seen carrying NULs.
        "username": {"type": "string", "maxLength": 64},
        "video_description": {"type": "string"},
        "create_time": _COUNT,
        "like_count": _COUNT,
        "comment_count": _COUNT,
    },
)

WORLD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "note": _NOTE,
        "tenants": _list_of(TENANT),
        "loyalty_users": _list_of(LOYALTY_USER),
        "instagram_users": _list_of(INSTAGRAM_USER),
        "instagram_media": _list_of(INSTAGRAM_MEDIA),
        "tiktok_users": _list_of(TIKTOK_USER),
        "tiktok_videos": _list_of(TIKTOK_VIDEO),
    },
    "additionalProperties": False,
}

# The key that names an item in error messages, per section.
ITEM_NAME = {
    "tenants": "slug",
    "loyalty_users": "id",
    "instagram_users": "username",
    "instagram_media": "id",
    "tiktok_users": "username",
    "tiktok_videos": "id",
}
