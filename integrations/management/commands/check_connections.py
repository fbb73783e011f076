"""``check_connections``: ask Meta now whether each connected brand's token is
valid and its Page still subscribed, as the daily schedule does."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.meta.connections import check_connection
from integrations.models import BrandConnection


class Command(BaseCommand):
    help = "Check every connected brand with Meta (or one tenant's) and repair it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Check only this tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        connections = BrandConnection.objects.connected_of(options["tenant"])
        if options["tenant"] and not connections.exists():
            raise CommandError(f"No connected brand for tenant {options['tenant']!r}.")

        for connection in connections:
            outcome = check_connection(connection)
            self.stdout.write(
                f"{connection.tenant.slug} @{connection.username}: {outcome}"
            )
