"""``manage.py create_invitation TENANT_SLUG``: print a new invitation link."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.invitations import create_invitation
from loyalty.models import Tenant


class Command(BaseCommand):
    help = "Create a one-time Instagram invitation link for a tenant and print it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("tenant_slug")
        parser.add_argument(
            "--days", type=int, default=7, help="How long the link works (1-90)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant_slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant_slug']!r}.")
        if not 1 <= options["days"] <= 90:
            raise CommandError("--days must be between 1 and 90.")
        _, link = create_invitation(tenant, days=options["days"])
        # The link goes to stdout only, for the caller to pass on; it is stored
        # nowhere.
        self.stdout.write(link)
