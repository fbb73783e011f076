"""The brand owner's pages: invitation landing, the login callback, the chooser.

No page shows a token, a code or a secret; an unknown invitation token is a bare
404 so nothing about any tenant leaks to someone guessing links.
"""

import logging
from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.utils import timezone
from django.views.csrf import csrf_failure as default_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.invitations import find_invitation
from integrations.meta import login, onboarding
from integrations.meta.graph import GraphError
from integrations.meta.onboarding import Candidate, Login, OnboardingProblem
from integrations.models import (
    BrandConnection,
    ConnectAttempt,
    ConnectionStatus,
    Invitation,
    InvitationState,
)
from integrations.ratelimit import limit_connect

logger = logging.getLogger(__name__)

CONTACT = "Questions? Ask the person who sent you the invitation link."
RETRY = "You can open the link from your invitation again and retry."
ALLOW_COOKIES = (
    "Allow cookies for this site, then open the link from your invitation again "
    "in this browser."
)
# Invitation states that end the road, with what the owner is told.
CLOSED = {
    InvitationState.USED: (
        "This link has already been used",
        "Each invitation link connects one account, once.",
    ),
    InvitationState.EXPIRED: (
        "This link has expired",
        "Invitation links are only valid for a limited time.",
    ),
    InvitationState.REVOKED: (
        "This link was withdrawn",
        "The invitation was cancelled by whoever sent it.",
    ),
}
# Each way connecting can stop: (HTTP status, title, lines).
PROBLEMS: dict[str, tuple[int, str, list[str]]] = {
    "cancelled": (
        200,
        "Nothing was connected",
        ["You cancelled or did not allow access on Facebook.", RETRY],
    ),
    "missing_permissions": (
        200,
        "Some permissions were not granted",
        [
            "Without the permissions listed below we cannot follow your Instagram "
            "activity. Nothing was connected.",
            "Open the link from your invitation again and, when Facebook asks, "
            "grant every permission listed:",
        ],
    ),
    "no_instagram": (
        200,
        "No Instagram professional account found",
        [
            "None of the Facebook Pages you shared has an Instagram professional "
            "account linked to it.",
            "Link your Instagram account to a Facebook Page (Instagram app → Settings "
            "→ Account type and tools), share that Page when you log in, and retry.",
        ],
    ),
    "taken": (
        409,
        "This Instagram account is already connected elsewhere",
        [
            "It is connected to another loyalty program, so it cannot be connected "
            "here as well.",
            "If it should be connected here instead, tell the person who sent you "
            "the link: an operator can free the account by deleting its old "
            "connection in the admin. Your link stays valid until then.",
        ],
    ),
    "graph": (
        502,
        "Facebook did not answer as expected",
        [
            "Something went wrong while talking to Facebook. Nothing was connected.",
            RETRY,
        ],
    ),
    "used_meanwhile": (
        409,
        "This link has already been used",
        ["Another window finished connecting with this link first."],
    ),
    "state": (
        400,
        "This page has expired",
        [
            "The login took too long, was already completed, or was started in "
            "another browser.",
            RETRY,
        ],
    ),
    "cookies": (
        400,
        "Cookies are needed",
        [
            "Your browser did not send back the cookie we set when you pressed "
            "Continue with Facebook. Either it blocks cookies for this site, or "
            "the Facebook login finished in another browser or app than the one "
            "you started in.",
            ALLOW_COOKIES,
        ],
    ),
    "form_expired": (
        403,
        "This page has expired",
        [
            "For your safety the form on this page only works for a limited time.",
            "Open the link from your invitation again and continue from there.",
        ],
    ),
    "csrf_cookie": (
        403,
        "Cookies are needed",
        ["Your browser did not send back the cookie this page needs.", ALLOW_COOKIES],
    ),
}
# Why a ``state`` was refused, when that calls for a page of its own.
STATE_PROBLEMS = {"no session cookie": "cookies"}


@never_cache
@require_http_methods(["GET", "POST"])  # before the limit: a 405 is not counted
@limit_connect
def landing(request: HttpRequest, token: str) -> HttpResponse:
    invitation = find_invitation(token)
    if invitation is None:
        raise Http404()
    if not invitation.is_usable:
        return _closed(request, invitation)
    if request.method == "POST":
        state = login.start_attempt(request, invitation)
        return HttpResponseRedirect(login.dialog_url(state))

    permissions = [
        {"title": title, "why": why} for title, why in onboarding.PERMISSIONS.values()
    ]
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "permissions": permissions,
    }
    return render(request, "connect/landing.html", context)


@never_cache
@require_GET
@limit_connect
def callback(request: HttpRequest) -> HttpResponse:
    try:
        attempt = login.claim_attempt(request, request.GET.get("state", ""))
    except login.StateError as error:
        return _refused_state(request, error)
    invitation = attempt.invitation
    if not invitation.is_usable:
        return _closed_for_owner(request, invitation)
    if request.GET.get("error") or not request.GET.get("code"):
        logger.info("Brand owner cancelled the login", extra={"attempt": attempt.pk})
        return _problem(request, OnboardingProblem("cancelled"))

    try:
        session = onboarding.log_in(request.GET["code"])
        if len(session.candidates) > 1:
            return _ask_which(request, attempt, session)
        connection = onboarding.connect(invitation, session, session.candidates[0])
    except OnboardingProblem as problem:
        return _problem(request, problem)
    return _done(request, invitation, connection)


@never_cache
@require_POST
@limit_connect
def choose(request: HttpRequest) -> HttpResponse:
    try:
        attempt = _waiting_attempt(request)
    except login.StateError as error:
        return _refused_state(request, error)
    try:
        return _connect_chosen(request, attempt)
    finally:
        # However the choice ended, the user token is no longer needed.
        ConnectAttempt.objects.filter(pk=attempt.pk).update(user_token="", choices=[])


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the connect pages explain; elsewhere Django's page."""
    match = getattr(request, "resolver_match", None)
    if match is None or not str(match.url_name or "").startswith("connect-"):
        return default_csrf_failure(request, reason)
    logger.warning("Connect form refused by the CSRF check: %s", reason)
    no_cookie = reason == REASON_NO_CSRF_COOKIE
    kind = "csrf_cookie" if no_cookie else "form_expired"
    return _problem(request, OnboardingProblem(kind))


def _connect_chosen(request: HttpRequest, attempt: ConnectAttempt) -> HttpResponse:
    invitation = attempt.invitation
    if not invitation.is_usable:
        return _closed_for_owner(request, invitation)
    wanted = request.POST.get("ig_user_id", "")
    try:
        found = [
            c
            for c in onboarding.candidates_for(attempt.user_token)
            if c.ig_user_id == wanted
        ]
    except GraphError as error:
        return _problem(request, onboarding.graph_problem(error))
    if not found:
        return _problem(request, OnboardingProblem("no_instagram"))
    session = Login(
        attempt.user_token, attempt.fb_user_id, attempt.granted_scopes, found
    )
    try:
        connection = onboarding.connect(invitation, session, found[0])
    except OnboardingProblem as problem:
        return _problem(request, problem)
    return _done(request, invitation, connection)


def _ask_which(
    request: HttpRequest, attempt: ConnectAttempt, session: Login
) -> HttpResponse:
    invitation = attempt.invitation
    taken = onboarding.taken_elsewhere(
        invitation, [c.ig_user_id for c in session.candidates]
    )
    if all(c.ig_user_id in taken for c in session.candidates):
        raise OnboardingProblem("taken")
    attempt.user_token = session.user_token
    attempt.fb_user_id = session.fb_user_id
    attempt.granted_scopes = session.scopes
    attempt.choices = [c.public() for c in session.candidates]
    attempt.save(
        update_fields=["user_token", "fb_user_id", "granted_scopes", "choices"]
    )
    context = {
        "tenant": invitation.tenant,
        "attempt": attempt.nonce,
        "choices": _choices(session.candidates, taken),
    }
    return render(request, "connect/choose.html", context)


def _choices(candidates: list[Candidate], taken: set[str]) -> list[dict[str, Any]]:
    """The chooser's rows; another tenant's accounts are shown but disabled."""
    rows = [{**c.public(), "unavailable": c.ig_user_id in taken} for c in candidates]
    first = next(row for row in rows if not row["unavailable"])
    first["preselected"] = True
    return rows


def _waiting_attempt(request: HttpRequest) -> ConnectAttempt:
    """The attempt awaiting a choice, if this browser owns it; claims the choice."""
    attempt = login.browser_attempt(request, request.POST.get("attempt", ""))
    fresh_since = timezone.now() - timedelta(seconds=login.STATE_MAX_AGE)
    claimed = (
        ConnectAttempt.objects.filter(
            pk=attempt.pk, chosen_at=None, created_at__gt=fresh_since
        )
        .exclude(user_token="")
        .update(chosen_at=timezone.now())
    )
    if not claimed:
        raise login.StateError("choice already made or expired", attempt)
    return attempt


def _refused_state(request: HttpRequest, error: login.StateError) -> HttpResponse:
    logger.warning("Connect step refused: %s", error.reason)
    if error.attempt is not None:
        # This browser's own attempt came back again (a reload, the back button).
        invitation = error.attempt.invitation
        connection = _connected_through(invitation)
        if connection is not None:
            return _done(request, invitation, connection, again=True)
    kind = STATE_PROBLEMS.get(error.reason, "state")
    return _problem(request, OnboardingProblem(kind))


def _closed_for_owner(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    """Like ``_closed``, but a browser that started an attempt may hear more."""
    connection = _connected_through(invitation)
    if connection is not None:
        return _done(request, invitation, connection, again=True)
    return _closed(request, invitation)


def _connected_through(invitation: Invitation) -> BrandConnection | None:
    """The connection this invitation made, if it is still connected."""
    invitation.refresh_from_db(fields=["used_at", "connection"])
    connection = invitation.connection
    if invitation.used_at is None or connection is None:
        return None
    if connection.status != ConnectionStatus.CONNECTED:
        return None
    return connection


def _closed(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    title, line = CLOSED[invitation.state]
    context = {"title": title, "lines": [line, "Ask whoever sent it for a new link."]}
    return render(request, "connect/message.html", context, status=410)


def _problem(request: HttpRequest, problem: OnboardingProblem) -> HttpResponse:
    status, title, lines = PROBLEMS[problem.kind]
    context: dict[str, Any] = {
        "title": title,
        "lines": lines,
        "items": problem.items,
        "contact": CONTACT,
    }
    return render(request, "connect/message.html", context, status=status)


def _done(
    request: HttpRequest,
    invitation: Invitation,
    connection: BrandConnection,
    again: bool = False,
) -> HttpResponse:
    context = {"tenant": invitation.tenant, "connection": connection, "again": again}
    return render(request, "connect/done.html", context)
