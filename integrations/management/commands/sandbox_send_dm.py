"""``manage.py sandbox_send_dm``: play Meta and send one signed DM delivery.

The emulated user is first marked as having messaged the brand, which is the
consent Meta grants a brand when someone DMs it (without it, the profile read
that follows gets Graph error 230; ``--without-consent`` shows that case).
"""

import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from integrations.meta.signatures import sign
from integrations.models import SandboxBrand, SandboxInstagramUser
from integrations.sandbox.delivery import (
    dm_delivery,
    serialize_like_meta,
    story_cdn_url,
)
from loyalty.handles import normalize_instagram

logger = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 10


class Command(BaseCommand):
    help = "Send a signed Instagram DM webhook delivery to the running server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug, e.g. acme")
        parser.add_argument(
            "--from", dest="sender", required=True, help="Instagram username"
        )
        parser.add_argument("--text", help="the message text")
        parser.add_argument(
            "--story-mention",
            action="store_true",
            help="send a story mention (an attachment) instead of text",
        )
        parser.add_argument(
            "--without-consent",
            action="store_true",
            help="do not mark the user as having messaged the brand (Graph 230)",
        )
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

    def handle(self, *args: Any, **options: Any) -> None:
        self._check_settings()
        if not options["story_mention"] and not options["text"]:
            raise CommandError("--text is required unless --story-mention is given.")
        base_url = _base_url(options["url"] or settings.PUBLIC_BASE_URL)
        brand = _brand(options["tenant"])
        user = _instagram_user(options["sender"])

        if not options["without_consent"]:
            _grant_consent(user, brand.slug)
        story_url = story_cdn_url() if options["story_mention"] else None
        payload, mid = dm_delivery(
            brand.ig_user_id, user.igsid, options["text"], story_url
        )
        body = serialize_like_meta(payload)
        for _ in range(options["repeat"]):
            status, reply = post_delivery(f"{base_url}/webhooks/meta/", body)
            self.stdout.write(f"HTTP {status}  mid {mid}")
            if status != 200:
                raise CommandError(f"The server answered {status}: {reply[:300]}")

    def _check_settings(self) -> None:
        if not settings.SANDBOX:
            raise CommandError("sandbox_send_dm only runs with SANDBOX=1.")
        if not settings.META_APP_SECRET:
            raise CommandError("META_APP_SECRET is empty: nothing to sign with.")


def post_delivery(url: str, body: bytes) -> tuple[int, str]:
    """POST ``body`` signed with the app secret, as Meta does; (status, reply)."""
    request = urllib.request.Request(  # noqa: S310 - scheme checked in _base_url
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


def _base_url(url: str) -> str:
    if urlsplit(url).scheme not in {"http", "https"}:
        raise CommandError(f"--url must be an http(s) URL, got {url!r}.")
    return url.rstrip("/")


def _brand(slug: str) -> SandboxBrand:
    brand = SandboxBrand.objects.filter(slug=slug).first()
    if brand is None:
        known = ", ".join(SandboxBrand.objects.values_list("slug", flat=True))
        raise CommandError(
            f"No sandbox Instagram account for tenant {slug!r} (known: {known or '-'})."
        )
    return brand


def _instagram_user(handle: str) -> SandboxInstagramUser:
    username, _ = normalize_instagram(handle)
    user = SandboxInstagramUser.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No sandbox Instagram user {handle!r}.")
    return user


def _grant_consent(user: SandboxInstagramUser, slug: str) -> None:
    with transaction.atomic():
        locked = SandboxInstagramUser.objects.select_for_update().get(pk=user.pk)
        if slug not in locked.messaged:
            locked.messaged = sorted([*locked.messaged, slug])
            locked.save(update_fields=["messaged"])
