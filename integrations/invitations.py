"""Invitation links: made here, shown once, found again only by their hash."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from integrations.models import Invitation
from loyalty.models import Tenant

# 32 random bytes, as URL-safe base64 (43 characters).
TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/connect/{token}/"


def create_invitation(
    tenant: Tenant, created_by: AbstractBaseUser | None = None, days: int = 7
) -> tuple[Invitation, str]:
    """A new invitation and its link; the link exists nowhere else afterwards."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        tenant=tenant,
        token_hash=hash_token(token),
        created_by=created_by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return invitation, link_for(token)


def find_invitation(token: str) -> Invitation | None:
    # Tokens are URL-safe base64; anything else cannot be one of ours.
    if not 20 <= len(token) <= 100:
        return None
    return (
        Invitation.objects.select_related("tenant")
        .filter(token_hash=hash_token(token))
        .first()
    )
