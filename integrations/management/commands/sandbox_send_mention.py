"""``manage.py sandbox_send_mention``: play Meta and send one signed ``mentions``
delivery for a sandbox media (a caption mention) or one of its comments.

Meta only sends it for media that mentions the brand and is not private; the
command checks the sandbox world the same way so a demo shows what Meta would.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.management.commands.sandbox_send_dm import (
    _base_url,
    _brand,
    post_delivery,
)
from integrations.models import SandboxBrand, SandboxInstagramUser, SandboxMedia
from integrations.sandbox.delivery import mention_delivery, serialize_like_meta


class Command(BaseCommand):
    help = "Send a signed Instagram mentions webhook delivery to the running server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug, e.g. acme")
        parser.add_argument("--media", required=True, help="sandbox media id")
        parser.add_argument(
            "--comment", help="a comment id on that media (a comment mention)"
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
        if not settings.SANDBOX:
            raise CommandError("sandbox_send_mention only runs with SANDBOX=1.")
        if not settings.META_APP_SECRET:
            raise CommandError("META_APP_SECRET is empty: nothing to sign with.")
        base_url = _base_url(options["url"] or settings.PUBLIC_BASE_URL)
        brand = _brand(options["tenant"])
        media = _mentioning_media(brand, options["media"], options["comment"])

        payload = mention_delivery(brand.ig_user_id, media.media_id, options["comment"])
        body = serialize_like_meta(payload)
        for _ in range(options["repeat"]):
            status, reply = post_delivery(f"{base_url}/webhooks/meta/", body)
            self.stdout.write(f"HTTP {status}  media {media.media_id}")
            if status != 200:
                raise CommandError(f"The server answered {status}: {reply[:300]}")


def _mentioning_media(
    brand: SandboxBrand, media_id: str, comment_id: str | None
) -> SandboxMedia:
    media = SandboxMedia.objects.filter(media_id=media_id).first()
    if media is None:
        raise CommandError(f"No sandbox media {media_id!r}.")
    if SandboxInstagramUser.objects.filter(
        username=media.username, is_private=True
    ).exists():
        raise CommandError("Meta sends no mentions webhook for a private account.")
    if comment_id is None:
        if brand.slug not in (media.mentions or []):
            raise CommandError(f"Media {media_id} does not mention {brand.slug!r}.")
        return media
    comment = next(
        (c for c in media.comments or [] if str(c.get("id")) == comment_id), None
    )
    if comment is None or brand.slug not in (comment.get("mentions") or []):
        raise CommandError(f"No comment {comment_id} mentioning {brand.slug!r}.")
    return media
