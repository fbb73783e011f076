"""``manage.py sandbox_send_mention``: play Meta and send one signed ``mentions``
delivery for a sandbox media (a caption mention) or one of its comments.

Meta only sends it for media that mentions the brand and is not private; the
command checks the sandbox world the same way so a demo shows what Meta would.
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from integrations.models import SandboxBrand, SandboxInstagramUser, SandboxMedia
from integrations.sandbox.delivery import mention_delivery, serialize_like_meta
from integrations.sandbox.meta_command import PlayMetaCommand, brand


class Command(PlayMetaCommand):
    help = "Send a signed Instagram mentions webhook delivery to the running server."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--media", required=True, help="sandbox media id")
        parser.add_argument(
            "--comment", help="a comment id on that media (a comment mention)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.check_settings()
        account = brand(options["tenant"])
        media = _mentioning_media(account, options["media"], options["comment"])
        payload = mention_delivery(
            account.ig_user_id, media.media_id, options["comment"]
        )
        self.deliver(options, serialize_like_meta(payload), f"media {media.media_id}")


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
