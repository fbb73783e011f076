"""The last step every resolved Instagram activity shares: queue the member's
attributes and mark the activity reported, inside the caller's transaction."""

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from integrations.models import Activity, ActivityStatus
from loyalty import outbox
from loyalty.handles import normalize_instagram
from loyalty.models import Member


def mark_reported(
    activity: Activity,
    member: Member,
    written: dict[str, Any],
    username: str,
    *,
    also: Iterable[str] = ("event",),
) -> None:
    """``written``: the attributes to merge; ``username``: the author as Meta
    spells it, kept normalized on the activity; ``also``: other fields the
    caller changed on ``activity``, saved with these."""
    outbox.queue_attributes(
        tenant=activity.tenant,
        member=member,
        attributes=written,
        reason=f"instagram {activity.kind} {activity.pk}",
    )
    activity.member = member
    activity.username = normalize_instagram(username)[0]
    activity.status = ActivityStatus.REPORTED
    activity.error = activity.error_code = ""
    activity.resolved_at = timezone.now()
    # Named fields only: a whole-row save would overwrite the attempt counter
    # the task raised with an F() update.
    fields = ["member", "username", "status", "error", "error_code", "resolved_at"]
    activity.save(update_fields=[*fields, *also])
