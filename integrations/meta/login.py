"""Facebook Login for Business, manual flow: the dialog URL and its ``state``.

``state`` is a signed nonce naming a ``ConnectAttempt`` row. It is short-lived
(the signature carries a timestamp), single-use (the callback claims the row with
a conditional UPDATE) and bound to the invitation (the row) and to the browser
session that started it (a random value kept in the session, stored hashed).

A long-lived user token is kept on the attempt only while the owner picks one of
several accounts; it is wiped once the ``state`` lifetime has passed.
"""

import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

from integrations.models import ConnectAttempt, Invitation

STATE_SALT = "integrations.meta.login.state"
STATE_MAX_AGE = 15 * 60  # seconds between leaving for Facebook and coming back
SESSION_KEY = "connect_browser"

logger = logging.getLogger(__name__)


class StateError(Exception):
    """The callback's ``state`` is unusable; ``reason`` says why (for logs).

    ``attempt`` is set when this browser did start the attempt (a replay), so
    the page can say what became of it.
    """

    def __init__(self, reason: str, attempt: ConnectAttempt | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempt = attempt


def redirect_uri() -> str:
    return f"{settings.PUBLIC_BASE_URL}/connect/callback/"


# Reference: Facebook Login for Business, "Invoke the Login Dialog" (manual flow).
def dialog_url(state: str) -> str:
    # Limitation: no override_default_response_type, so system-user (BISU)
    # configurations, which need it, are not supported; user-token ones are.
    query = {
        "client_id": settings.META_APP_ID,
        "redirect_uri": redirect_uri(),
        "config_id": settings.META_LOGIN_CONFIG_ID,
        "response_type": "code",
        "state": state,
    }
    base = f"{settings.META_LOGIN_DIALOG_URL}/{settings.META_GRAPH_VERSION}"
    return f"{base}/dialog/oauth?{urlencode(query)}"


def start_attempt(request: HttpRequest, invitation: Invitation) -> str:
    """A new attempt for this browser; returns the ``state`` to send along."""
    forget_stale_attempts()
    browser = request.session.get(SESSION_KEY)
    if not browser:
        browser = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = browser
    attempt = ConnectAttempt.objects.create(
        invitation=invitation,
        nonce=secrets.token_urlsafe(24),
        browser_hash=_digest(browser),
    )
    return signing.dumps(attempt.nonce, salt=STATE_SALT)


def claim_attempt(request: HttpRequest, state: str) -> ConnectAttempt:
    """The attempt ``state`` names, claimed for this request, or ``StateError``."""
    attempt = own_attempt(request, state)
    claimed = ConnectAttempt.objects.filter(pk=attempt.pk, used_at=None).update(
        used_at=timezone.now()
    )
    if not claimed:
        raise StateError("replayed", attempt)
    return attempt


def own_attempt(request: HttpRequest, state: str) -> ConnectAttempt:
    """The attempt ``state`` names if this browser started it (not claimed)."""
    try:
        nonce = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise StateError("expired") from None
    except signing.BadSignature:
        raise StateError("bad signature") from None
    return browser_attempt(request, str(nonce))


def browser_attempt(request: HttpRequest, nonce: str) -> ConnectAttempt:
    """The attempt with ``nonce``, if this browser started it, else StateError."""
    forget_stale_attempts()
    attempt = (
        ConnectAttempt.objects.select_related("invitation__tenant")
        .filter(nonce=nonce)
        .first()
    )
    if attempt is None:
        raise StateError("unknown attempt")
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        # Cookies blocked, or the dialog came back in another browser or app.
        raise StateError("no session cookie")
    browser = request.session.get(SESSION_KEY, "")
    if not browser or not secrets.compare_digest(
        attempt.browser_hash, _digest(browser)
    ):
        raise StateError("foreign browser")
    return attempt


def forget_stale_attempts() -> int:
    """Wipe user tokens and choices older than a ``state`` can live.

    Called wherever attempts are started or read, and by the daily connection
    check, so an abandoned chooser does not keep a user token.
    """
    stale = ConnectAttempt.objects.filter(
        created_at__lte=timezone.now() - timedelta(seconds=STATE_MAX_AGE)
    ).exclude(user_token="", choices=[])
    wiped = stale.update(user_token="", choices=[])
    if wiped:
        logger.info("Wiped user tokens of abandoned connect attempts: %d", wiped)
    return wiped


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
