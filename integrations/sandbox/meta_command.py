"""What the sandbox commands that play Meta share: the common options, the
settings they need, and posting a signed delivery the way Meta does."""

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.meta.signatures import sign
from integrations.models import SandboxBrand

_TIMEOUT_SECONDS = 10


class PlayMetaCommand(BaseCommand):
    """A command that sends Meta-shaped webhook deliveries to the server."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug, e.g. acme")
        parser.add_argument(
            "--url", help="the server's base URL (default: PUBLIC_BASE_URL)"
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=1,
            choices=range(1, 11),
            metavar="N",
            help="post the same signed body N times, as Meta's retries do (1-10)",
        )

    def check_settings(self) -> None:
        if not settings.SANDBOX:
            raise CommandError(f"{self.name()} only runs with SANDBOX=1.")
        if not settings.META_APP_SECRET:
            raise CommandError("META_APP_SECRET is empty: nothing to sign with.")

    def name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def deliver(self, options: dict[str, Any], body: bytes, label: str) -> None:
        """POST ``body`` ``--repeat`` times; fail unless every answer is 200."""
        url = base_url(options["url"] or settings.PUBLIC_BASE_URL) + "/webhooks/meta/"
        for _ in range(options["repeat"]):
            status, reply = post_delivery(url, body)
            self.stdout.write(f"HTTP {status}  {label}")
            if status != 200:
                raise CommandError(f"The server answered {status}: {reply[:300]}")


def post_delivery(url: str, body: bytes) -> tuple[int, str]:
    """POST ``body`` signed with the app secret, as Meta does; (status, reply)."""
    request = urllib.request.Request(  # noqa: S310 - scheme checked in base_url
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, settings.META_APP_SECRET),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise CommandError(
            f"Cannot reach {url} ({reason}). Is the server running (make run)?"
        ) from None


def base_url(url: str) -> str:
    if urlsplit(url).scheme not in {"http", "https"}:
        raise CommandError(f"--url must be an http(s) URL, got {url!r}.")
    return url.rstrip("/")


def brand(slug: str) -> SandboxBrand:
    found = SandboxBrand.objects.filter(slug=slug).first()
    if found is None:
        known = ", ".join(SandboxBrand.objects.values_list("slug", flat=True))
        raise CommandError(
            f"No sandbox Instagram account for tenant {slug!r} (known: {known or '-'})."
        )
    return found
