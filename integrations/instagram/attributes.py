"""The member profile attributes we write from what Instagram tells us."""

from typing import Any


def from_profile(profile: dict[str, Any], *, with_follow: bool) -> dict[str, Any]:
    """Attributes from the User Profile API (readable once the member DMs).

    ``instagram_follows_you`` is written only when ``with_follow``: the product
    updates it on DMs and nothing else.
    """
    attributes: dict[str, Any] = {"instagram_verified": True}
    if profile.get("username"):
        attributes["instagram_handle"] = profile["username"]
    if isinstance(profile.get("follower_count"), int):
        attributes["instagram_followers"] = profile["follower_count"]
    if with_follow and isinstance(profile.get("is_user_follow_business"), bool):
        attributes["instagram_follows_you"] = profile["is_user_follow_business"]
    if profile.get("profile_pic"):
        attributes["instagram_profile_image"] = profile["profile_pic"]
    attributes.update(_split_name(profile.get("name")))
    return attributes


def from_business_discovery(discovery: dict[str, Any]) -> dict[str, Any]:
    """Attributes only Business Discovery has, for business and creator accounts."""
    mapping = {
        "media_count": "instagram_posts",
        "follows_count": "instagram_follows",
        "followers_count": "instagram_followers",
        "biography": "instagram_bio",
        "profile_picture_url": "instagram_profile_image",
    }
    return {
        ours: discovery[theirs]
        for theirs, ours in mapping.items()
        if theirs in discovery
    }


def _split_name(name: Any) -> dict[str, str]:
    # Instagram has one display name, not first and last: the first word is taken
    # as the first name and the rest as the last name.
    if not isinstance(name, str) or not name.strip():
        return {}
    first, _, last = name.strip().partition(" ")
    return {"instagram_firstname": first, "instagram_lastname": last.strip()}
