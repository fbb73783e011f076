"""django-q2 task entry points of the loyalty app."""

import logging
import time
from datetime import datetime

from loyalty import members
from loyalty.models import Tenant
from loyalty.outbox import DrainResult, drain

logger = logging.getLogger(__name__)

# One run stops claiming rows after this many seconds, far inside django-q2's
# task timeout (Q_CLUSTER["timeout"]), so a flood of rows cannot get a worker
# killed mid-send; the next run (every minute) carries on.
DRAIN_BUDGET_SECONDS = 60.0


def drain_outbox() -> str:
    """Send everything due in the outbox; returns a summary for the task log."""
    deadline = time.monotonic() + DRAIN_BUDGET_SECONDS
    total = DrainResult()
    while time.monotonic() < deadline:
        result = drain(deadline=deadline)
        total += result
        if result.total == 0:
            break
    return f"outbox: {total.sent} sent, {total.retried} retried, {total.failed} failed"


# -- member index (loyalty/members.py) ----------------------------------------


def sync_all_members() -> str:
    """The hourly schedule: every configured tenant's member index."""
    outcomes = members.sync_tenants(members.syncable_tenants())
    summary = "; ".join(map(str, outcomes)) or "no tenants"
    failed = [outcome.slug for outcome in outcomes if outcome.error]
    if failed:
        # Raised so the task shows as failed in the admin; the other tenants
        # were synced all the same.
        raise RuntimeError(f"member sync failed for {', '.join(failed)}: {summary}")
    return summary


def sync_tenant_members(tenant_id: int) -> str:
    tenant = Tenant.objects.get(pk=tenant_id)
    return f"{tenant.slug}: {members.sync_tenant(tenant)}"


def refresh_member(tenant_id: int, subject: str, received_at: str | None = None) -> str:
    """Queued by WLL's webhook; ``received_at`` is when it arrived (ISO 8601).

    Limitation: a WLL failure (429, 5xx) fails the task without a retry; the
    hourly sync picks the change up.
    """
    tenant = Tenant.objects.get(pk=tenant_id)
    received = datetime.fromisoformat(received_at) if received_at else None
    member = members.refresh_member(tenant, subject, received_at=received)
    if member is None:
        return f"{tenant.slug}: no member for that subject"
    return f"{tenant.slug}: refreshed member {member.pk}"
