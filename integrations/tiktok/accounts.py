"""Account checks after a scan: a few members' TikTok accounts looked up, so
private and missing ones are recorded and left out of later scans.

A member whose profile cannot be read (the source's 5xx, after its bounded
retries) is noted and passed over: it is tried again on a scan at least
``RETRY_UNREADABLE`` later, and never holds up the members after it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.models import TikTokScan
from integrations.tiktok import report
from integrations.tiktok.sources import (
    AccountNotFound,
    QuotaExhausted,
    RateLimited,
    Source,
    SourceError,
)
from loyalty.models import HandleStatus, Member, Tenant, TikTokAccountStatus

logger = logging.getLogger(__name__)

# Private and missing accounts are looked up again after this long.
RECHECK_AFTER = timedelta(days=30)
# An account whose profile could not be read waits this long before the next try.
RETRY_UNREADABLE = timedelta(hours=24)
# This many unreadable profiles in a row means the source itself is failing:
# the rest wait for the next scan rather than spend requests on retries.
MAX_UNREADABLE_IN_A_ROW = 3


def check_accounts(tenant: Tenant, source: Source, row: TikTokScan) -> None:
    """Look up at most ``TIKTOK_HANDLE_CHECKS`` accounts due a check."""
    members = Member.objects.filter(
        tenant=tenant, tiktok_handle_status=HandleStatus.VALID
    ).filter(_due(timezone.now()))[: settings.TIKTOK_HANDLE_CHECKS]
    checked = unreadable = in_a_row = 0
    for member in members:
        try:
            report.read_profile(member, source)
        except AccountNotFound:
            pass
        except (QuotaExhausted, RateLimited):
            break  # nothing more can be read today
        except SourceError as error:
            _pass_over(member, error)
            unreadable, in_a_row = unreadable + 1, in_a_row + 1
            if in_a_row >= MAX_UNREADABLE_IN_A_ROW:
                break
            continue
        checked, in_a_row = checked + 1, 0
    row.counters["accounts_checked"] = checked
    row.counters["accounts_unreadable"] = unreadable
    row.save(update_fields=["counters"])


def _pass_over(member: Member, error: SourceError) -> None:
    report.mark_unreadable(member)
    logger.warning(
        "TikTok profile unreadable, checked again later: %s",
        error.kind,
        extra={"member": member.pk},
    )


def _due(now: datetime) -> Q:
    """Never checked; private or missing a month ago; unreadable a day ago."""
    return (
        Q(tiktok_checked_at__isnull=True)
        | Q(
            tiktok_checked_at__lt=now - RECHECK_AFTER,
            tiktok_account_status__in=[
                TikTokAccountStatus.PRIVATE,
                TikTokAccountStatus.NOT_FOUND,
            ],
        )
        | Q(
            tiktok_checked_at__lt=now - RETRY_UNREADABLE,
            tiktok_account_status=TikTokAccountStatus.UNKNOWN,
        )
    )
