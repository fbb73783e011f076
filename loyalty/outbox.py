"""The outbox to the Loyalty Engine: queue in the caller's transaction, send later.

``queue_event`` and ``queue_attributes`` only write rows. ``drain`` (run by the
``drain_outbox`` task) claims due rows with a conditional UPDATE, so two workers
never send the same row, and records each outcome: sent, retried with backoff,
or failed with the reason. WLL has no idempotency key (WLL docs: events), so when a
send's outcome is unknown (a timeout, a 5xx, a worker that died mid-send) the
event is looked for in WLL before it is sent again.
"""

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Q, QuerySet
from django.utils import timezone

from loyalty.client import (
    LoyaltyClient,
    LoyaltyError,
    LoyaltyRejectedError,
    LoyaltyRetryableError,
)
from loyalty.models import AttributeWrite, LoyaltyEvent, Member, OutboxStatus, Tenant

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BACKOFF_BASE = 30.0  # seconds before the second attempt, doubling after that
BACKOFF_CAP = 3600.0
# A row claimed longer ago than this belongs to a worker that died: the client's
# slowest path (token, GET with inline retries, PATCH) stays well below it.
STALE_CLAIM = timedelta(minutes=10)
# When another worker is already writing a member's attributes.
MEMBER_BUSY_DELAY = timedelta(seconds=30)
ERROR_MAX_CHARS = 500

SENT, RETRIED, FAILED = "sent", "retried", "failed"


@dataclass
class DrainResult:
    """How many outbox rows one drain pass settled, by outcome."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def __add__(self, other: "DrainResult") -> "DrainResult":
        return DrainResult(
            self.sent + other.sent,
            self.retried + other.retried,
            self.failed + other.failed,
        )


def queue_event(
    *,
    tenant: Tenant,
    member: Member,
    type: str,
    payload: dict,
    occurred_at: datetime,
    dedupe_key: str,
) -> LoyaltyEvent | None:
    """Queue one event, or return None if ``dedupe_key`` was queued before."""
    existing = LoyaltyEvent.objects.filter(tenant=tenant, dedupe_key=dedupe_key)
    if existing.exists():
        return None
    try:
        # A savepoint, so losing a race to a concurrent insert of the same key
        # leaves the caller's transaction usable.
        with transaction.atomic():
            return LoyaltyEvent.objects.create(
                tenant=tenant,
                member=member,
                type=type,
                subject=member.wll_user_id,
                payload=payload,
                occurred_at=occurred_at,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if existing.exists():
            return None
        raise


def queue_attributes(
    *, tenant: Tenant, member: Member, attributes: dict, reason: str
) -> AttributeWrite:
    """Queue attributes to merge into the member's ``profile.attributes``."""
    return AttributeWrite.objects.create(
        tenant=tenant, member=member, attributes=attributes, reason=reason[:255]
    )


def drain(batch_size: int = 100, deadline: float | None = None) -> DrainResult:
    """Send what is due: up to ``batch_size`` events and members' attributes.

    No new row is claimed once ``time.monotonic()`` passes ``deadline``.
    """
    clients: dict[int, LoyaltyClient] = {}
    result = DrainResult()
    _recover_orphaned_events()

    def in_time() -> bool:
        return deadline is None or time.monotonic() < deadline

    try:
        for event_id in _due_event_ids(batch_size):
            if not in_time():
                return result
            result += _send_event(event_id, clients)
        for member_id in _due_member_ids(batch_size):
            if not in_time():
                return result
            result += _send_attributes(member_id, clients)
    finally:
        for client in clients.values():
            client.close()
    return result


# -- events ---------------------------------------------------------------


def _send_event(event_id: int, clients: dict[int, LoyaltyClient]) -> DrainResult:
    claim = timezone.now()
    claimed = LoyaltyEvent.objects.filter(_due(claim), pk=event_id).update(
        status=OutboxStatus.SENDING,
        claimed_at=claim,
        attempts=F("attempts") + 1,
        updated_at=claim,
    )
    if not claimed:
        return DrainResult()  # another worker got there first

    event = LoyaltyEvent.objects.select_related("tenant").get(pk=event_id)
    rows = LoyaltyEvent.objects.filter(pk=event_id, claimed_at=claim)
    log = {"tenant": event.tenant.slug, "outbox_id": event.pk}
    client = _client(event.tenant, clients)
    try:
        response = _already_reported(client, event) if event.outcome_unknown else None
        if response is not None:
            logger.info(
                "Loyalty event %s had arrived; not resent", event.type, extra=log
            )
            return _settle_sent(rows, response=response, outcome_unknown=False)
        response = client.report_event(
            event.type, event.subject, event.payload, event.occurred_at
        )
    except Exception as exc:  # bugs included: the row records it
        if _may_have_arrived(exc):
            rows.update(outcome_unknown=True)
        return _settle_error(rows, exc, log)

    logger.info("Loyalty event %s sent", event.type, extra=log)
    return _settle_sent(rows, response=response, outcome_unknown=False)


def _may_have_arrived(exc: Exception) -> bool:
    """Whether a failed send might still have been stored by WLL."""
    if isinstance(exc, LoyaltyRetryableError):
        return exc.maybe_delivered
    # Anything but a refusal (an unreadable 2xx reply, our own bug after the
    # request left) leaves the event possibly stored.
    return not isinstance(exc, LoyaltyRejectedError)


def _already_reported(client: LoyaltyClient, event: LoyaltyEvent) -> dict | None:
    """WLL has no idempotency key (WLL docs: events): after a send whose outcome is
    unknown, the only guard against a second award is to look for the first."""
    return client.find_event(event.type, event.subject, event.occurred_at)


def _recover_orphaned_events() -> None:
    """Events left "sending" by a worker that died may or may not have arrived;
    they go back to the queue marked for a look before any resend."""
    now = timezone.now()
    LoyaltyEvent.objects.filter(
        Q(status=OutboxStatus.SENDING)
        & (Q(claimed_at__lt=now - STALE_CLAIM) | Q(claimed_at__isnull=True))
    ).update(
        status=OutboxStatus.PENDING,
        outcome_unknown=True,
        claimed_at=None,
        next_attempt_at=now,
        updated_at=now,
    )


# -- attribute writes -----------------------------------------------------


def _send_attributes(member_id: int, clients: dict[int, LoyaltyClient]) -> DrainResult:
    """Claim every due write of one member and send them as one merged PATCH,
    so two writes for a member never race each other."""
    claim = timezone.now()
    if not _claim_member_writes(member_id, claim):
        return DrainResult()
    rows = AttributeWrite.objects.filter(member_id=member_id, claimed_at=claim)
    if _member_busy_elsewhere(member_id, claim):
        _release(rows, claim)
        return DrainResult()

    writes = list(rows.select_related("tenant", "member").order_by("id"))
    merged: dict = {}
    for write in writes:
        merged.update(write.attributes)  # in id order: later values win
    first = writes[0]
    log = {"tenant": first.tenant.slug, "outbox_id": first.pk}
    try:
        client = _client(first.tenant, clients)
        client.patch_attributes(first.member.wll_user_id, merged)
    except Exception as exc:  # bugs included: the row records it
        return _settle_error(rows, exc, log)

    logger.info("Loyalty attributes sent (%d writes merged)", len(writes), extra=log)
    return _settle_sent(rows)


def _claim_member_writes(member_id: int, claim: datetime) -> int:
    busy = AttributeWrite.objects.filter(
        member_id=member_id,
        status=OutboxStatus.SENDING,
        claimed_at__gte=claim - STALE_CLAIM,
    )
    return (
        AttributeWrite.objects.filter(_due(claim), member_id=member_id)
        .filter(~Exists(busy))
        .update(
            status=OutboxStatus.SENDING,
            claimed_at=claim,
            attempts=F("attempts") + 1,
            updated_at=claim,
        )
    )


def _member_busy_elsewhere(member_id: int, claim: datetime) -> bool:
    """Did another worker claim this member's writes at the same moment?

    The claim's NOT EXISTS cannot see a claim that PostgreSQL has not committed
    yet; checking again after our own commit closes that gap: of two racing
    claims, the later checker always sees the earlier and backs off.
    """
    return (
        AttributeWrite.objects.filter(
            member_id=member_id,
            status=OutboxStatus.SENDING,
            claimed_at__gte=claim - STALE_CLAIM,
        )
        .exclude(claimed_at=claim)
        .exists()
    )


def _release(rows: QuerySet, claim: datetime) -> None:
    rows.update(
        status=OutboxStatus.PENDING,
        claimed_at=None,
        attempts=F("attempts") - 1,
        next_attempt_at=claim + MEMBER_BUSY_DELAY,
    )


# -- shared ---------------------------------------------------------------


def _due(now: datetime) -> Q:
    pending = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
    orphaned = Q(status=OutboxStatus.SENDING) & (
        Q(claimed_at__lt=now - STALE_CLAIM) | Q(claimed_at__isnull=True)
    )
    return pending | orphaned


def _due_event_ids(batch_size: int) -> list[int]:
    due = LoyaltyEvent.objects.filter(_due(timezone.now())).order_by(
        "next_attempt_at", "id"
    )
    return list(due.values_list("id", flat=True)[:batch_size])


def _due_member_ids(batch_size: int) -> list[int]:
    due = AttributeWrite.objects.filter(_due(timezone.now())).order_by("member_id")
    return list(due.values_list("member_id", flat=True).distinct()[:batch_size])


def _client(tenant: Tenant, clients: dict[int, LoyaltyClient]) -> LoyaltyClient:
    if tenant.pk not in clients:
        clients[tenant.pk] = LoyaltyClient(tenant)
    return clients[tenant.pk]


def _settle_sent(rows: QuerySet, **fields: object) -> DrainResult:
    now = timezone.now()
    count = rows.filter(status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT, sent_at=now, last_error="", updated_at=now, **fields
    )
    return DrainResult(sent=count)


def _settle_error(rows: QuerySet, exc: Exception, log: dict) -> DrainResult:
    if isinstance(exc, LoyaltyRejectedError):
        logger.warning("Loyalty Engine rejected outbox row: %s", exc.status, extra=log)
        return _settle_failed(rows, exc.reason)
    if isinstance(exc, LoyaltyRetryableError):
        logger.warning("Loyalty Engine unavailable, will retry", extra=log)
        return _settle_retry(rows, str(exc), exc.retry_after)
    if isinstance(exc, LoyaltyError):
        logger.warning("Odd reply from the Loyalty Engine, will retry", extra=log)
        return _settle_retry(rows, str(exc), None)
    logger.exception("Bug while sending outbox row", extra=log)
    return _settle_retry(rows, f"internal error: {type(exc).__name__}", None)


def _settle_failed(rows: QuerySet, error: str) -> DrainResult:
    count = rows.filter(status=OutboxStatus.SENDING).update(
        status=OutboxStatus.FAILED,
        last_error=error[:ERROR_MAX_CHARS],
        claimed_at=None,
        updated_at=timezone.now(),
    )
    return DrainResult(failed=count)


def _settle_retry(rows: QuerySet, error: str, retry_after: float | None) -> DrainResult:
    rows = rows.filter(status=OutboxStatus.SENDING)
    given_up = _settle_failed(
        rows.filter(attempts__gte=MAX_ATTEMPTS),
        f"gave up after {MAX_ATTEMPTS} attempts: {error}",
    )
    rest = rows.exclude(attempts__gte=MAX_ATTEMPTS)
    attempts = max(rest.values_list("attempts", flat=True), default=1)
    now = timezone.now()
    count = rest.update(
        status=OutboxStatus.PENDING,
        next_attempt_at=now + timedelta(seconds=retry_delay(attempts, retry_after)),
        last_error=error[:ERROR_MAX_CHARS],
        claimed_at=None,
        updated_at=now,
    )
    return given_up + DrainResult(retried=count)


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds until the next try: exponential backoff with jitter, never
    sooner than the server's Retry-After, never later than an hour."""
    backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts - 1, 20))
    jittered = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto
    return min(BACKOFF_CAP, max(retry_after or 0.0, jittered))
