"""The member index: which tenant member owns which Instagram or TikTok handle.

WLL cannot be searched by profile attribute (WLL docs: users), so we keep our own copy
of every member's ``instagramHandle`` and ``tiktokHandle``. It is filled by a full
sync that pages through ``GET /users`` and kept fresh between syncs by WLL's
outbound webhook, which names one user whose profile changed.
"""

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.client import LoyaltyClient, LoyaltyError, LoyaltyNotFoundError
from loyalty.handles import normalize_instagram, normalize_tiktok
from loyalty.models import HandleStatus, Member, Tenant, TikTokAccountStatus
from loyalty.signals import member_handles_changed

logger = logging.getLogger(__name__)

# GET /users accepts limit 1-1000 (WLL OpenAPI ListQueryParams).
MAX_PAGE_SIZE = 1000
# Member.*_handle_raw and auth_identifier (WLL caps authIdentifier at 512 too).
_RAW_MAX = 512
_WLL_ID_MAX = 128
# How long a finished full sync is remembered to spare webhook refreshes another.
SYNC_MARKER_TTL = 2 * 60 * 60
# WLL ids are UUIDs (WLL docs: users); anything else cannot be a /users/{id} path.
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class InvalidUserError(ValueError):
    """A WLL user object we cannot index (no id, or fields of the wrong type)."""


@dataclass(frozen=True)
class UserFields:
    """What the index keeps from one WLL user object, already normalized."""

    wll_user_id: str
    auth_identifier: str
    instagram_handle_raw: str
    instagram_handle: str
    instagram_handle_status: str
    tiktok_handle_raw: str
    tiktok_handle: str
    tiktok_handle_status: str

    def values(self) -> dict[str, str]:
        return asdict(self)

    def invalid_handles(self) -> int:
        statuses = (self.instagram_handle_status, self.tiktok_handle_status)
        return sum(status == HandleStatus.INVALID for status in statuses)


# The Member fields a sync may change; wll_user_id is the key, never rewritten.
_SYNCED_FIELDS = [
    each.name for each in dataclasses.fields(UserFields) if each.name != "wll_user_id"
]


@dataclass
class SyncResult:
    seen: int = 0
    created: int = 0
    updated: int = 0
    invalid_handles: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return " ".join(f"{key}={value}" for key, value in asdict(self).items())


@dataclass
class TenantSyncOutcome:
    slug: str
    result: SyncResult | None = None
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.slug}: failed: {self.error}"
        return f"{self.slug}: {self.result}"


@dataclass
class _PageWrite:
    created: int = 0
    updated: int = 0


# -- reading WLL user objects ------------------------------------------------


def parse_user(user: Any) -> UserFields:
    """Validate one WLL user object and normalize its handles."""
    if not isinstance(user, dict):
        raise InvalidUserError(f"user is a {type(user).__name__}, not an object")

    wll_user_id = user.get("id")
    if not wll_user_id or not _is_clean(wll_user_id, _WLL_ID_MAX):
        raise InvalidUserError("missing or malformed id")
    auth_identifier = user.get("authIdentifier")
    auth_identifier = "" if auth_identifier is None else auth_identifier
    if not _is_clean(auth_identifier, _RAW_MAX):
        raise InvalidUserError("malformed authIdentifier")

    attributes = _attributes(user)
    ig = _handle(attributes.get("instagramHandle"), normalize_instagram)
    tt = _handle(attributes.get("tiktokHandle"), normalize_tiktok)
    return UserFields(wll_user_id, auth_identifier, *ig, *tt)


def _attributes(user: dict) -> dict:
    # Attributes live at profile.attributes (WLL docs: users); either may be absent.
    profile = user.get("profile") or {}
    if not isinstance(profile, dict):
        raise InvalidUserError("profile is not an object")
    attributes = profile.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidUserError("profile.attributes is not an object")
    return attributes


def _is_clean(value: Any, max_length: int) -> bool:
    # PostgreSQL refuses NUL in text, and an id must fit its column whole.
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def _handle(
    value: Any, normalize: Callable[[str | None], tuple[str, HandleStatus]]
) -> tuple[str, str, str]:
    """(raw, normalized, status); the raw text is kept so admins see the typo."""
    if value is None:
        return "", "", HandleStatus.MISSING
    if not isinstance(value, str):
        # Attributes may hold any JSON type (WLL docs: users); only text is a handle.
        return _storable(repr(value)), "", HandleStatus.INVALID
    handle, status = normalize(value)
    return _storable(value), handle, status


def _storable(raw: str) -> str:
    # PostgreSQL refuses NUL in text; show it as U+FFFD so the admin sees it.
    return raw.replace("\x00", "\ufffd")[:_RAW_MAX]


# -- writing the index -------------------------------------------------------


def upsert_member(tenant: Tenant, user: dict) -> Member:
    """Create or update the member for one WLL user object."""
    return _upsert(tenant, parse_user(user))[0]


def _upsert(tenant: Tenant, fields: UserFields) -> tuple[Member, bool, bool]:
    """The member, whether it was created, and whether it was updated."""
    now = timezone.now()
    with transaction.atomic():
        member, created = Member.objects.select_for_update().get_or_create(
            tenant=tenant,
            wll_user_id=fields.wll_user_id,
            defaults={**fields.values(), "synced_at": now},
        )
        before = ("", "") if created else _handles(member)
        changed = [] if created else _apply(member, fields)
        if not created:
            member.synced_at = now
            member.save(update_fields=[*changed, "synced_at", "updated_at"])
        _announce_if_new_handle(member, before)
    return member, created, bool(changed)


# What a changed handle resets besides the synced fields (see _apply).
_RESET_ON_NEW_HANDLE = ["igsid", "tiktok_account_status", "tiktok_checked_at"]


def _apply(member: Member, fields: UserFields) -> list[str]:
    """Copy ``fields`` onto ``member``; the names of the fields that changed."""
    changed = []
    for name, value in fields.values().items():
        if name in _SYNCED_FIELDS and getattr(member, name) != value:
            setattr(member, name, value)
            changed.append(name)
    if "instagram_handle" in changed and member.igsid:
        # A new handle may be a new Instagram account: the old account's id no
        # longer identifies the member, and their next DM links them afresh.
        # The follow status stays, so switching accounts earns no second follow.
        member.igsid = None
        changed.append("igsid")
    if "tiktok_handle" in changed:
        # A new handle is a new account: what TikTok said about the old one
        # (private, missing) no longer applies.
        member.tiktok_account_status = TikTokAccountStatus.UNKNOWN
        member.tiktok_checked_at = None
        changed += ["tiktok_account_status", "tiktok_checked_at"]
    return changed


def _handles(member: Member) -> tuple[str, str]:
    return member.instagram_handle, member.tiktok_handle


def _announce_if_new_handle(member: Member, before: tuple[str, str]) -> None:
    after = _handles(member)
    if any(new and new != old for new, old in zip(after, before, strict=True)):
        transaction.on_commit(partial(_send_handles_changed, member))


def _send_handles_changed(member: Member) -> None:
    member_handles_changed.send(sender=Member, member=member)


# -- full sync ---------------------------------------------------------------


def sync_tenant(tenant: Tenant, page_size: int = MAX_PAGE_SIZE) -> SyncResult:
    """Upsert every WLL user of ``tenant`` into the index.

    Limitation: WLL pages by offset only (WLL OpenAPI ListQueryParams), so a
    user deleted while we
    page shifts the rest by one and a user may be missed until the next sync.
    Members deleted in WLL are not removed here.
    """
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    client = LoyaltyClient(tenant)
    started = timezone.now()
    result = SyncResult()

    skip = 0
    while True:
        users = client.list_users(limit=page_size, skip=skip)
        _sync_page(tenant, users, result)
        if len(users) < page_size:
            break
        skip += len(users)

    _mark_synced(tenant, started)
    logger.info("Synced members: %s", result, extra={"tenant": tenant.slug})
    return result


def _sync_page(tenant: Tenant, users: list[dict], result: SyncResult) -> None:
    page = _parse_page(tenant, users, result)
    try:
        with transaction.atomic():
            write = _write_page(tenant, page)
    except IntegrityError:
        # A webhook refresh created one of these members between our read and
        # our insert; redo this page row by row, which tolerates that.
        logger.info("Page raced a refresh; upserting one by one")
        write = _PageWrite()
        for fields in page.values():
            _, created, updated = _upsert(tenant, fields)
            write.created += created
            write.updated += updated
    result.created += write.created
    result.updated += write.updated


def _parse_page(
    tenant: Tenant, users: list[dict], result: SyncResult
) -> dict[str, UserFields]:
    page: dict[str, UserFields] = {}
    for position, user in enumerate(users):
        result.seen += 1
        try:
            fields = parse_user(user)
        except InvalidUserError as exc:
            result.skipped += 1
            logger.warning(
                "Skipped WLL user at offset %s of page: %s",
                position,
                exc,
                extra={"tenant": tenant.slug},
            )
            continue
        result.invalid_handles += fields.invalid_handles()
        page[fields.wll_user_id] = fields
    return page


def _write_page(tenant: Tenant, page: dict[str, UserFields]) -> _PageWrite:
    """Apply one page with a constant number of queries, whatever its size."""
    now = timezone.now()
    existing = Member.objects.filter(tenant=tenant, wll_user_id__in=list(page))
    by_id = {member.wll_user_id: member for member in existing}
    write = _PageWrite()

    new = [
        Member(tenant=tenant, synced_at=now, **fields.values())
        for wll_id, fields in page.items()
        if wll_id not in by_id
    ]
    Member.objects.bulk_create(new, batch_size=500)
    for member in new:
        _announce_if_new_handle(member, ("", ""))
    write.created = len(new)

    changed, unchanged = [], []
    for member in by_id.values():
        before = _handles(member)
        if _apply(member, page[member.wll_user_id]):
            member.synced_at = member.updated_at = now
            changed.append(member)
            _announce_if_new_handle(member, before)
        else:
            unchanged.append(member.pk)
    fields = [*_SYNCED_FIELDS, *_RESET_ON_NEW_HANDLE, "synced_at", "updated_at"]
    Member.objects.bulk_update(changed, fields, batch_size=500)
    Member.objects.filter(pk__in=unchanged).update(synced_at=now)
    write.updated = len(changed)
    return write


def sync_tenants(tenants: Iterable[Tenant]) -> list[TenantSyncOutcome]:
    """Sync each tenant in turn; one tenant's failure does not stop the others."""
    outcomes = []
    for tenant in tenants:
        outcome = TenantSyncOutcome(tenant.slug)
        try:
            outcome.result = sync_tenant(tenant)
        except LoyaltyError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            logger.warning("Member sync failed: %s", exc, extra={"tenant": tenant.slug})
        except Exception as exc:  # noqa: BLE001 - our bug; other tenants still run
            outcome.error = f"internal error ({type(exc).__name__})"
            logger.exception("Member sync crashed", extra={"tenant": tenant.slug})
        outcomes.append(outcome)
    return outcomes


def syncable_tenants() -> Iterable[Tenant]:
    # A tenant still being set up in the admin has no API key yet.
    return Tenant.objects.exclude(api_key="").order_by("slug")


# -- webhook refresh ---------------------------------------------------------


def find_member(tenant: Tenant, subject: str) -> Member | None:
    # INFERENCE (WLL docs: webhooks): the webhook subject is the authIdentifier by
    # default, but a tenant may configure the WLL id instead; accept both.
    matches = Member.objects.filter(tenant=tenant).filter(
        Q(auth_identifier=subject) | Q(wll_user_id=subject)
    )
    return matches.order_by("pk").first()


def refresh_member(
    tenant: Tenant, subject: str, received_at: datetime | None = None
) -> Member | None:
    """Re-read one user named by WLL's webhook and update the index.

    ``received_at`` is when the webhook arrived: a full sync that started after
    it already covers this user, so a burst of webhooks about new users costs one
    full sync, not one each.
    """
    client = LoyaltyClient(tenant)
    member = find_member(tenant, subject)
    if member is not None:
        try:
            return upsert_member(tenant, client.get_user(member.wll_user_id))
        except LoyaltyNotFoundError:
            logger.warning(
                "WLL no longer has member %s", member.pk, extra={"tenant": tenant.slug}
            )
            return None

    if _UUID.fullmatch(subject):
        try:
            return upsert_member(tenant, client.get_user(subject))
        except LoyaltyNotFoundError:
            pass

    # WLL documents no lookup by authIdentifier (GET /users has an untyped,
    # undocumented `filter`; WLL docs: users), so the only way to find a new user named
    # by one is to page through all users.
    if not _synced_since(tenant, received_at):
        sync_tenant(tenant)
    return find_member(tenant, subject)


def _sync_marker_key(tenant: Tenant) -> str:
    return f"loyalty:members-synced:{tenant.pk}"


def _mark_synced(tenant: Tenant, started: datetime) -> None:
    # Limitation: with the default per-process cache each worker remembers only
    # its own syncs, so a burst may still cost one full sync per worker.
    cache.set(_sync_marker_key(tenant), started, timeout=SYNC_MARKER_TTL)


def _synced_since(tenant: Tenant, moment: datetime | None) -> bool:
    """Whether a full sync that started at or after ``moment`` has finished."""
    started = cache.get(_sync_marker_key(tenant))
    return moment is not None and started is not None and started >= moment
