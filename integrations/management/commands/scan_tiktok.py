"""``scan_tiktok``: scan tenants' tracked hashtags on TikTok now.

The same work runs on the ``integrations.tiktok.tasks.scan_due_tenants``
schedule, every ``Tenant.tiktok_scan_hours`` per tenant.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.models import TrackedHashtag
from integrations.tiktok.scanner import scan
from loyalty.models import Tenant


class Command(BaseCommand):
    help = "Run one TikTok hashtag scan now and print what it did."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Scan only this tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        for tenant in self._tenants(options["tenant"]):
            self.stdout.write(str(scan(tenant)))

    def _tenants(self, slug: str | None) -> list[Tenant]:
        if slug is None:
            ids = TrackedHashtag.objects.values_list("tenant_id", flat=True)
            return list(Tenant.objects.filter(pk__in=ids))
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        return [tenant]
