"""Reading, checking and loading a sandbox world file (DESIGN §5).

Loading is an upsert, all or nothing: a later file may name only what changes
(add media, change a follow). Fields an item leaves out keep their stored value.
Two fields merge instead of replacing, because the running system writes them:
a loyalty user's attributes (the portal writes ``instagram_handle`` and friends;
a ``null`` in the file removes one) and an Instagram user's ``messaged`` list
(the consent a DM grants is never withdrawn by reloading the world).
"""

import json
import logging
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from integrations.models import (
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
    SandboxTikTokState,
    SandboxTikTokUser,
    SandboxTikTokVideo,
)
from integrations.sandbox import upserts
from integrations.sandbox.schema import ITEM_NAME, WORLD
from loyalty.models import (
    SandboxLoyaltyEvent,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
    Tenant,
)

logger = logging.getLogger(__name__)

_MAX_SCHEMA_ERRORS = 5
# The order the summary lists what was loaded in.
_SECTIONS = (
    "tenants",
    "brand_connections",
    "dm_keywords",
    "tracked_hashtags",
    "loyalty_users",
    "instagram_users",
    "instagram_media",
    "tiktok_users",
    "tiktok_videos",
)


class WorldError(Exception):
    """A world file that cannot be loaded; the message names the offending item."""


@dataclass
class LoadReport:
    tenant_slugs: list[str] = field(default_factory=list)
    # section -> [created, updated]
    counts: dict[str, list[int]] = field(
        default_factory=lambda: {section: [0, 0] for section in _SECTIONS}
    )
    notes: list[str] = field(default_factory=list)

    def count(self, section: str, created: bool) -> None:
        totals = self.counts.setdefault(section, [0, 0])
        totals[0 if created else 1] += 1


def read_world(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WorldError(f"{path}: cannot read the file ({error.strerror}).") from None
    try:
        world = json.loads(text)
    except json.JSONDecodeError as error:
        raise WorldError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})."
        ) from None
    check_shape(world)
    return world


def check_shape(world: Any) -> None:
    validator = Draft202012Validator(WORLD)
    errors = sorted(validator.iter_errors(world), key=_path_order)
    if errors:
        lines = [_describe(world, error) for error in errors[:_MAX_SCHEMA_ERRORS]]
        raise WorldError("\n".join(lines))


def load_world(world: dict[str, Any], reset: bool = False) -> LoadReport:
    """Load ``world`` (already shape-checked) in one transaction."""
    report = LoadReport()
    with transaction.atomic():
        if reset:
            reset_sandbox(extra_slugs=[t["slug"] for t in world.get("tenants", [])])
        check_references(world)
        _load_sections(world, report)
    return report


def reset_sandbox(extra_slugs: list[str]) -> None:
    """Empty the emulators and delete the portal tenants the sandbox made."""
    slugs = set(extra_slugs)
    slugs |= set(SandboxLoyaltyTenant.objects.values_list("slug", flat=True))
    slugs |= set(SandboxBrand.objects.values_list("slug", flat=True))
    # Cascades to the tenants' connections, keywords, members, activity and
    # outbox. Webhook deliveries belong to no tenant and are kept.
    Tenant.objects.filter(slug__in=slugs).delete()
    for model in (
        SandboxLoyaltyEvent,
        SandboxLoyaltyUser,
        SandboxLoyaltyTenant,
        SandboxMedia,
        SandboxInstagramUser,
        SandboxBrand,
        SandboxTikTokVideo,
        SandboxTikTokUser,
        SandboxTikTokState,
    ):
        model.objects.all().delete()
    logger.info("Sandbox reset: removed tenants %s", ", ".join(sorted(slugs)))


def check_references(world: dict[str, Any]) -> None:
    """Duplicates within the file, and slugs or usernames that name nothing."""
    for section, key in ITEM_NAME.items():
        _check_unique(world, section, key)
    _check_unique(world, "instagram_users", "igsid")

    slugs = {t["slug"] for t in world.get("tenants", [])}
    slugs |= set(SandboxLoyaltyTenant.objects.values_list("slug", flat=True))
    usernames = {u["username"] for u in world.get("instagram_users", [])}
    usernames |= set(SandboxInstagramUser.objects.values_list("username", flat=True))

    for index, user in enumerate(world.get("loyalty_users", [])):
        _check_slugs(world, "loyalty_users", index, [user["tenant"]], slugs)
    for index, user in enumerate(world.get("instagram_users", [])):
        named = user.get("follows", []) + user.get("messaged", [])
        _check_slugs(world, "instagram_users", index, named, slugs)
    for index, media in enumerate(world.get("instagram_media", [])):
        named = media.get("mentions", []) + media.get("tags", [])
        _check_slugs(world, "instagram_media", index, named, slugs)
        if media["username"] not in usernames:
            raise WorldError(
                f"{_label(world, 'instagram_media', index)}: no instagram user "
                f"{media['username']!r} in this file or already loaded."
            )


def _load_sections(world: dict[str, Any], report: LoadReport) -> None:
    steps = [
        ("tenants", upserts.tenant),
        ("loyalty_users", upserts.loyalty_user),
        ("instagram_users", upserts.instagram_user),
        ("instagram_media", upserts.instagram_media),
        ("tiktok_users", upserts.tiktok_user),
        ("tiktok_videos", upserts.tiktok_video),
    ]
    for section, upsert in steps:
        for index, item in enumerate(world.get(section, [])):
            try:
                created = upsert(item, report)
            except IntegrityError as error:
                # E.g. an igsid already loaded under another username.
                label = _label(world, section, index)
                raise WorldError(
                    f"{label}: conflicts with stored data ({error})."
                ) from None
            except ValueError as error:  # e.g. a tracked hashtag that is none
                raise WorldError(f"{_label(world, section, index)}: {error}") from None
            report.count(section, created)
    # The tenants a --sync should refresh: those loaded, and those whose users
    # were (a later file may add users alone).
    touched = {t["slug"] for t in world.get("tenants", [])}
    touched |= {u["tenant"] for u in world.get("loyalty_users", [])}
    report.tenant_slugs = sorted(touched)


def _check_unique(world: dict[str, Any], section: str, key: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(world.get(section, [])):
        value = item.get(key)
        if value in seen:
            raise WorldError(
                f"{_label(world, section, index)}: {key} {value!r} appears twice."
            )
        seen.add(value)


def _check_slugs(
    world: dict[str, Any], section: str, index: int, named: list[str], known: set[str]
) -> None:
    for slug in named:
        if slug not in known:
            raise WorldError(
                f"{_label(world, section, index)}: unknown tenant {slug!r} "
                "(not in this file's tenants and not loaded before)."
            )


def _path_order(error: ValidationError) -> list[tuple[bool, Any]]:
    # Paths mix list indexes and object keys; never compare an int with a str.
    return [(isinstance(part, str), part) for part in error.path]


def _describe(world: Any, error: ValidationError) -> str:
    path = list(error.path)
    message = _without_long_value(error)
    if len(path) >= 2 and isinstance(path[1], int):
        where = _label(world, str(path[0]), path[1])
        rest = "".join(f".{part}" for part in path[2:])
        return f"{where}{rest}: {message}"
    if path:
        return f"{'.'.join(str(part) for part in path)}: {message}"
    return f"world file: {message}"


def _without_long_value(error: ValidationError) -> str:
    # jsonschema starts many messages with the offending value, which may be a
    # whole section of the file; keep its beginning only.
    shown = repr(error.instance)
    if len(shown) > 60 and error.message.startswith(shown):
        short = textwrap.shorten(shown, width=60, placeholder=" …")
        return short + error.message[len(shown) :]
    return error.message


def _label(world: Any, section: str, index: int) -> str:
    """``instagram_users[3] (jane.doe)``: position plus the item's own name."""
    label = f"{section}[{index}]"
    try:
        name = world[section][index].get(ITEM_NAME.get(section, ""))
    except (AttributeError, IndexError, KeyError, TypeError):
        name = None
    return f"{label} ({name})" if isinstance(name, str) else label
