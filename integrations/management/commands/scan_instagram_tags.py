"""``scan_instagram_tags``: poll the ``tags`` edge of every connected brand now.

The same scan runs every 4 minutes as a django-q2 schedule; a brand already
being scanned (by the schedule or another run of this command) answers "busy".
Reportable tags are resolved by the task queue, as webhook activity is.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.instagram import tags
from integrations.models import BrandConnection


class Command(BaseCommand):
    help = "Scan the Instagram tags of every connected brand (or one tenant's)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Scan only this tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        connections = BrandConnection.objects.connected_of(options["tenant"])
        if options["tenant"] and not connections.exists():
            raise CommandError(f"No connected brand for tenant {options['tenant']!r}.")

        for connection in connections:
            result = tags.scan(connection.pk)
            self.stdout.write(
                f"{connection.tenant.slug} @{connection.username}: {result}"
            )
