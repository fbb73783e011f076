"""``sync_members``: refresh the member index from the Loyalty Engine now.

The same work runs hourly as the ``loyalty.tasks.sync_all_members`` schedule.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.members import sync_tenants, syncable_tenants
from loyalty.models import Tenant


class Command(BaseCommand):
    help = "Page through every tenant's WLL users and update the member index."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Sync only this tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = self._tenants(options["tenant"])
        if not tenants:
            self.stdout.write("No tenant has Loyalty Engine credentials yet.")
            return

        outcomes = sync_tenants(tenants)
        for outcome in outcomes:
            style = self.style.ERROR if outcome.error else self.style.SUCCESS
            stream = self.stderr if outcome.error else self.stdout
            stream.write(style(str(outcome)))

        failed = [outcome.slug for outcome in outcomes if outcome.error]
        if failed:
            raise CommandError(f"Member sync failed for: {', '.join(failed)}")

    def _tenants(self, slug: str | None) -> list[Tenant]:
        if slug is None:
            return list(syncable_tenants())
        # A tenant named explicitly is synced even without an API key, so the
        # operator sees the client's error instead of silence.
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        return [tenant]
