"""Invitation links: made here, shown once, found again only by their hash."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from integrations.models import Invitation
from loyalty.models import Tenant

# 32 random bytes, as URL-safe base64 (43 characters).
TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/connect/{token}/"


def issue(invitation: Invitation, created_by: User | None, days: int) -> str:
    """Give an unsaved invitation its token, author and expiry; returns its link,
    which exists nowhere else afterwards (only the token's hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation.token_hash = hash_token(token)
    invitation.created_by = created_by
    invitation.expires_at = timezone.now() + timedelta(days=days)
    return link_for(token)


def create_invitation(
    tenant: Tenant, created_by: User | None = None, days: int = 7
) -> tuple[Invitation, str]:
    """A new, saved invitation and its link."""
    invitation = Invitation(tenant=tenant)
    link = issue(invitation, created_by, days)
    invitation.save()
    return invitation, link


def find_invitation(token: str) -> Invitation | None:
    # Tokens are URL-safe base64; anything else cannot be one of ours.
    if not 20 <= len(token) <= 100:
        return None
    return (
        Invitation.objects.select_related("tenant")
        .filter(token_hash=hash_token(token))
        .first()
    )
