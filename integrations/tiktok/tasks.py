"""django-q2 entry points for TikTok scanning."""

import logging
from datetime import timedelta

from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django_q.tasks import async_task

from integrations.models import ScanStatus, TikTokScan, TrackedHashtag
from integrations.tiktok.scanner import scan
from loyalty.models import Tenant

logger = logging.getLogger(__name__)

SCAN_TENANT = "integrations.tiktok.tasks.scan_tenant"


def scan_due_tenants() -> str:
    """The hourly schedule: queue a scan for every tenant whose interval has
    passed (``Tenant.tiktok_scan_hours``) or whose last scan was paused."""
    queued = [tenant.slug for tenant in _due_tenants()]
    for slug in queued:
        async_task(SCAN_TENANT, slug)
    return f"TikTok scans queued: {', '.join(queued) or 'none'}"


def scan_tenant(slug: str) -> str:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        return f"{slug}: no such tenant"
    return str(scan(tenant))


def _due_tenants() -> list[Tenant]:
    now = timezone.now()
    tenants = Tenant.objects.filter(
        Exists(TrackedHashtag.objects.filter(tenant=OuterRef("pk")))
    ).annotate(last_scan=Max("tiktokscan__started_at"))
    paused = set(
        TikTokScan.objects.filter(status=ScanStatus.PAUSED).values_list(
            "tenant_id", flat=True
        )
    )
    return [
        tenant
        for tenant in tenants
        if tenant.pk in paused
        or tenant.last_scan is None
        or now - tenant.last_scan >= timedelta(hours=tenant.tiktok_scan_hours)
    ]
