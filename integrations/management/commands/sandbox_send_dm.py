"""``manage.py sandbox_send_dm``: play Meta and send one signed DM delivery.

The emulated user is first marked as having messaged the brand, which is the
consent Meta grants a brand when someone DMs it (without it, the profile read
that follows gets Graph error 230; ``--without-consent`` shows that case).
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from integrations.models import SandboxInstagramUser
from integrations.sandbox.delivery import (
    dm_delivery,
    serialize_like_meta,
    story_cdn_url,
)
from integrations.sandbox.meta_command import PlayMetaCommand, brand
from loyalty.handles import normalize_instagram


class Command(PlayMetaCommand):
    help = "Send a signed Instagram DM webhook delivery to the running server."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
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

    def handle(self, *args: Any, **options: Any) -> None:
        self.check_settings()
        if not options["story_mention"] and not options["text"]:
            raise CommandError("--text is required unless --story-mention is given.")
        account = brand(options["tenant"])
        user = _instagram_user(options["sender"])

        if not options["without_consent"]:
            _grant_consent(user, account.slug)
        story_url = story_cdn_url() if options["story_mention"] else None
        payload, mid = dm_delivery(
            account.ig_user_id, user.igsid, options["text"], story_url
        )
        self.deliver(options, serialize_like_meta(payload), f"mid {mid}")


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
