"""Credentials the sandbox invents for each tenant, the same on every load.

They are derived from ``SECRET_KEY`` and the tenant's slug, so reloading a world
(``make run`` does so on every start) never breaks the pairing between a portal
tenant and its emulated Loyalty Engine tenant or Instagram account, while two
installations with different keys still get different values.
"""

import hashlib
import hmac

from django.conf import settings


def derive(purpose: str, slug: str) -> str:
    """A stable 64-hex-digit secret for one use (``purpose``) of one tenant."""
    message = f"sandbox:{purpose}:{slug}".encode()
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def loyalty_client_id(slug: str) -> str:
    return f"sandbox-client-{slug}"


def loyalty_client_secret(slug: str) -> str:
    return derive("loyalty-client-secret", slug)


def loyalty_webhook_secret(slug: str) -> str:
    return derive("loyalty-webhook-secret", slug)


def page_token(slug: str) -> str:
    # Real Page tokens start with "EAA"; the prefix only makes the fake one
    # recognisable in the admin, nothing checks it.
    return "EAAS" + derive("page-token", slug)
