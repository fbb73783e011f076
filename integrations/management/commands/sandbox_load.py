"""``manage.py sandbox_load WORLD.json [--reset] [--sync]``: fill the sandbox.

See DESIGN §5 for the file format and ``integrations/sandbox/world.py`` for the
upsert rules.
"""

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.sandbox.world import LoadReport, WorldError, load_world, read_world
from loyalty.models import Tenant

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Load a sandbox world file into the emulators and the portal (SANDBOX=1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("world", type=Path, help="path to the world JSON file")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="first empty the emulators and delete the sandbox tenants' data",
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="then sync the loaded tenants' members (needs the server running)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(
                "sandbox_load only runs with SANDBOX=1: it points tenants at the "
                "emulators and --reset deletes tenants."
            )

        try:
            world = read_world(options["world"])
            report = load_world(world, reset=options["reset"])
        except WorldError as error:
            raise CommandError(
                f"{options['world']}: nothing loaded.\n{error}"
            ) from None

        self._print_report(options["world"], report)
        if options["sync"]:
            self._sync(report.tenant_slugs)

    def _print_report(self, path: Path, report: LoadReport) -> None:
        self.stdout.write(self.style.SUCCESS(f"Loaded {path}"))
        for section, (created, updated) in report.counts.items():
            self.stdout.write(f"  {section}: {created} new, {updated} updated")
        for note in report.notes:
            self.stdout.write(f"  {note}")

    def _sync(self, slugs: list[str]) -> None:
        # Imported here: the member sync lives in the loyalty app and talks to
        # the Loyalty Engine emulator over HTTP, which only --sync needs.
        try:
            from loyalty.members import sync_tenant
        except ImportError as error:
            raise CommandError(
                f"--sync: member sync is unavailable ({error})."
            ) from None

        for tenant in Tenant.objects.filter(slug__in=slugs):
            try:
                result = sync_tenant(tenant)
            except Exception as error:  # noqa: BLE001 - reported, then the command fails
                raise CommandError(f"--sync: {tenant.slug} failed: {error}") from None
            suffix = f": {result}" if result is not None else ""
            self.stdout.write(f"  synced members of {tenant.slug}{suffix}")
