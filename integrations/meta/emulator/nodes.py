"""What the emulator returns for each node type, field by field.

Two node types are served: an Instagram user seen through messaging (an IGSID,
the User Profile API) and the calling brand's own IG professional account,
whose ``business_discovery`` field looks up another account by username.
Empty values are left out of answers, as the Graph API omits fields it has no
value for (INFERENCE for ``name``/``profile_pic``, which Meta documents as
possibly null).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from integrations.meta.emulator import errors
from integrations.meta.emulator.fields import FieldSpec
from integrations.models import SandboxBrand, SandboxInstagramUser, SandboxMedia

UserGetter = Callable[[SandboxInstagramUser, SandboxBrand], Any]

# User Profile API fields (IGSID node). The sandbox never verifies anyone, and
# brands never follow members back.
PROFILE_FIELDS: dict[str, UserGetter] = {
    "id": lambda user, brand: user.igsid,
    "name": lambda user, brand: user.name,
    "username": lambda user, brand: user.username,
    "profile_pic": lambda user, brand: user.profile_pic,
    "follower_count": lambda user, brand: user.follower_count,
    "is_user_follow_business": lambda user, brand: brand.slug in _slugs(user.follows),
    "is_business_follow_user": lambda user, brand: False,
    "is_verified_user": lambda user, brand: False,
}

# Business Discovery fields. The sandbox keeps one id per person, so the IGSID
# stands in for the IG user id Meta would return here (they differ on Meta).
DISCOVERY_FIELDS: dict[str, Callable[[SandboxInstagramUser], Any]] = {
    "id": lambda user: user.igsid,
    "username": lambda user: user.username,
    "name": lambda user: user.name,
    "biography": lambda user: user.biography,
    "followers_count": lambda user: user.follower_count,
    "follows_count": lambda user: user.follows_count,
    "media_count": lambda user: user.media_count,
    "profile_picture_url": lambda user: user.profile_pic,
    "website": lambda user: "",
}

BRAND_FIELDS: dict[str, Callable[[SandboxBrand], Any]] = {
    "id": lambda brand: brand.ig_user_id,
    "username": lambda brand: brand.username,
    "name": lambda brand: brand.username,
}

DISCOVERABLE_TYPES = {"business", "creator"}


def user_profile(
    user: SandboxInstagramUser, brand: SandboxBrand, specs: list[FieldSpec]
) -> dict[str, Any]:
    names = _leaf_names(specs, PROFILE_FIELDS, "User")
    # Consent comes from the user messaging the brand first (Meta: a DM, an
    # icebreaker or the persistent menu).
    if brand.slug not in _slugs(user.messaged):
        raise errors.no_consent()

    answer = {name: PROFILE_FIELDS[name](user, brand) for name in names}
    return _without_empty({**answer, "id": user.igsid})


def brand_account(brand: SandboxBrand, specs: list[FieldSpec]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for spec in specs:
        if spec.name in BRAND_EDGES:
            answer[spec.name] = BRAND_EDGES[spec.name](brand, spec)
            continue
        _check_leaf(spec, BRAND_FIELDS, "IGUser")
        answer[spec.name] = BRAND_FIELDS[spec.name](brand)
    return _without_empty({**answer, "id": brand.ig_user_id})


def business_discovery(brand: SandboxBrand, spec: FieldSpec) -> dict[str, Any]:
    username = spec.modifiers.get("username", "")
    if set(spec.modifiers) != {"username"} or not username:
        raise errors.bad_fields("business_discovery needs .username(<name>)")
    names = _leaf_names(spec.children, DISCOVERY_FIELDS, "IGUser") or ["id"]

    target = SandboxInstagramUser.objects.filter(username__iexact=username).first()
    # Meta answers the same for an unknown name and for a personal or private
    # account: nothing tells them apart.
    if (
        target is None
        or target.is_private
        or target.account_type not in DISCOVERABLE_TYPES
    ):
        raise errors.invalid_user_id()

    answer = {name: DISCOVERY_FIELDS[name](target) for name in names}
    return _without_empty({**answer, "id": target.igsid})


def _leaf_names(
    specs: list[FieldSpec], known: dict[str, Any], node_type: str
) -> list[str]:
    for spec in specs:
        _check_leaf(spec, known, node_type)
    return [spec.name for spec in specs]


def _check_leaf(spec: FieldSpec, known: dict[str, Any], node_type: str) -> None:
    if spec.name not in known:
        raise errors.unknown_field(spec.name, node_type)
    if spec.modifiers or spec.children:
        raise errors.bad_fields(f"{spec.name} takes no modifiers or sub-fields")


def _slugs(value: Any) -> list[str]:
    # JSON columns filled from world files: tolerate a missing or odd value.
    return [str(item) for item in value] if isinstance(value, list) else []


def _without_empty(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if value not in ("", None)}


# IG Media fields, for media read through an edge (``tags``, ``mentioned_media``).
# ``owner`` is never answered: the brand did not create these media.
MEDIA_FIELDS: dict[str, Callable[[SandboxMedia], Any]] = {
    "id": lambda media: media.media_id,
    "caption": lambda media: media.caption,
    "media_type": lambda media: media.media_type,
    "media_product_type": lambda media: media.media_product_type,
    # Empty for licensed audio or reels with downloads off: left out, as Meta does.
    "media_url": lambda media: media.media_url,
    "thumbnail_url": lambda media: media.thumbnail_url,
    "permalink": lambda media: media.permalink,
    "timestamp": lambda media: media.timestamp,
    "username": lambda media: media.username,
    "like_count": lambda media: media.like_count,
    "comments_count": lambda media: media.comments_count,
}
COMMENT_FIELDS = ("id", "text", "timestamp", "like_count")


def media_fields(media: SandboxMedia, specs: list[FieldSpec]) -> dict[str, Any]:
    names = _leaf_names(specs, MEDIA_FIELDS, "IGMedia") or ["id"]
    answer = {name: MEDIA_FIELDS[name](media) for name in names}
    return _without_empty({**answer, "id": media.media_id})


def visible_media(brand: SandboxBrand, relation: str) -> list[SandboxMedia]:
    """Media that tag or mention ``brand``, newest first; private authors' media
    are invisible to the API, as on Instagram."""
    private = set(
        SandboxInstagramUser.objects.filter(is_private=True).values_list(
            "username", flat=True
        )
    )
    found = [
        media
        for media in SandboxMedia.objects.all()
        if brand.slug in _slugs(getattr(media, relation))
        and media.username not in private
    ]
    # By the instant, not the text: world files may give times with different
    # UTC offsets, which do not sort as strings.
    return sorted(found, key=media_order, reverse=True)


def media_order(media: SandboxMedia) -> tuple[datetime, str]:
    """The key the ``tags`` edge sorts and pages by (newest first, reversed)."""
    return instant(media.timestamp), media.media_id


def instant(timestamp: str) -> datetime:
    """A world file's media time as an aware instant; the oldest if unreadable."""
    for parse in (
        lambda value: datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z"),
        datetime.fromisoformat,
    ):
        try:
            parsed = parse(timestamp)
        except (TypeError, ValueError):
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def mentioned_media(brand: SandboxBrand, spec: FieldSpec) -> dict[str, Any]:
    media_id = spec.modifiers.get("media_id", "")
    if set(spec.modifiers) != {"media_id"} or not media_id:
        raise errors.bad_fields("mentioned_media needs .media_id(<id>)")
    for media in visible_media(brand, "mentions"):
        if media.media_id == media_id:
            return media_fields(media, spec.children)
    # INFERENCE: Meta's answer for media that does not mention the brand (or
    # was deleted) is not documented; the generic "does not exist" is used.
    raise errors.no_such_object(media_id)


def mentioned_comment(brand: SandboxBrand, spec: FieldSpec) -> dict[str, Any]:
    comment_id = spec.modifiers.get("comment_id", "")
    if set(spec.modifiers) != {"comment_id"} or not comment_id:
        raise errors.bad_fields("mentioned_comment needs .comment_id(<id>)")
    for media in SandboxMedia.objects.all():
        for comment in media.comments if isinstance(media.comments, list) else []:
            if str(comment.get("id")) == comment_id and brand.slug in _slugs(
                comment.get("mentions")
            ):
                return _comment_fields(media, comment, spec.children)
    raise errors.no_such_object(comment_id)


def _comment_fields(
    media: SandboxMedia, comment: dict[str, Any], specs: list[FieldSpec]
) -> dict[str, Any]:
    # Meta documents no author on mentioned_comment, so none is answered.
    answer: dict[str, Any] = {"id": str(comment["id"])}
    for spec in specs:
        if spec.name == "media":
            answer["media"] = media_fields(media, spec.children)
            continue
        if spec.name not in COMMENT_FIELDS:
            raise errors.unknown_field(spec.name, "IGComment")
        answer[spec.name] = comment.get(
            spec.name, 0 if spec.name == "like_count" else ""
        )
    return _without_empty(answer)


# Fields of the brand's account that read another node, by name.
BRAND_EDGES: dict[str, Callable[[SandboxBrand, FieldSpec], dict[str, Any]]] = {
    "business_discovery": business_discovery,
    "mentioned_media": mentioned_media,
    "mentioned_comment": mentioned_comment,
}
