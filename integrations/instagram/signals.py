"""Receivers that connect the member index to Instagram activity."""

import logging
from datetime import timedelta
from typing import Any

from django.dispatch import receiver
from django.utils import timezone
from django_q.tasks import async_task

from integrations.models import Activity, ActivityStatus, Platform
from loyalty.models import Member
from loyalty.signals import member_handles_changed

logger = logging.getLogger(__name__)


@receiver(member_handles_changed)
def rematch_unmatched_activity(sender: Any, member: Member, **kwargs: Any) -> None:
    """A member registered a handle: activity that waited for it can be reported.

    Only activity inside the tenant's re-match window is considered; the event
    keeps the activity's own time as its ``occurredAt``.
    """
    if not member.instagram_handle:
        return

    window = timedelta(days=member.tenant.rematch_window_days)
    waiting_rows = Activity.objects.filter(
        tenant=member.tenant,
        platform=Platform.INSTAGRAM,
        status=ActivityStatus.UNMATCHED,
        username=member.instagram_handle,
        occurred_at__gte=timezone.now() - window,
    ).values_list("pk", flat=True)
    waiting = list(waiting_rows)
    for pk in waiting:
        async_task("integrations.instagram.tasks.resolve_activity", pk)
    if waiting:
        logger.info(
            "Re-matching %d activities", len(waiting), extra={"member": member.pk}
        )
