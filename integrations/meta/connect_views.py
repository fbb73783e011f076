"""The brand owner's pages: invitation landing, the login callback, the chooser.

No page shows a token, a code or a secret; an unknown invitation token is a bare
404 so nothing about any tenant leaks to someone guessing links.
"""

import logging
from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.invitations import find_invitation
from integrations.meta import login, onboarding
from integrations.meta.graph import GraphError
from integrations.meta.onboarding import Login, OnboardingProblem
from integrations.models import ConnectAttempt, Invitation, InvitationState
from integrations.ratelimit import limit_connect

logger = logging.getLogger(__name__)

CONTACT = "Questions? Ask the person who sent you the invitation link."
RETRY = "You can open the link from your invitation again and retry."
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
            "Without these we cannot follow your Instagram activity:",
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
}


@never_cache
@limit_connect
@require_http_methods(["GET", "POST"])
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
@limit_connect
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    try:
        attempt = login.claim_attempt(request, request.GET.get("state", ""))
    except login.StateError as error:
        logger.warning("Connect callback refused: %s", error.reason)
        return _problem(request, OnboardingProblem("state"))
    invitation = attempt.invitation
    if not invitation.is_usable:
        return _closed(request, invitation)
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
@limit_connect
@require_POST
def choose(request: HttpRequest) -> HttpResponse:
    attempt = _waiting_attempt(request)
    if attempt is None:
        return _problem(request, OnboardingProblem("state"))
    invitation = attempt.invitation
    if not invitation.is_usable:
        return _closed(request, invitation)

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
    finally:
        # The user token is no longer needed either way.
        ConnectAttempt.objects.filter(pk=attempt.pk).update(user_token="", choices=[])
    return _done(request, invitation, connection)


def _ask_which(
    request: HttpRequest, attempt: ConnectAttempt, session: Login
) -> HttpResponse:
    attempt.user_token = session.user_token
    attempt.fb_user_id = session.fb_user_id
    attempt.granted_scopes = session.scopes
    attempt.choices = [c.public() for c in session.candidates]
    attempt.save(
        update_fields=["user_token", "fb_user_id", "granted_scopes", "choices"]
    )
    context = {
        "tenant": attempt.invitation.tenant,
        "attempt": attempt.nonce,
        "choices": attempt.choices,
    }
    return render(request, "connect/choose.html", context)


def _waiting_attempt(request: HttpRequest) -> ConnectAttempt | None:
    """The attempt awaiting a choice, if this browser owns it; claims the choice."""
    try:
        attempt = login.browser_attempt(request, request.POST.get("attempt", ""))
    except login.StateError as error:
        logger.warning("Account choice refused: %s", error.reason)
        return None
    fresh_since = timezone.now() - timedelta(seconds=login.STATE_MAX_AGE)
    claimed = (
        ConnectAttempt.objects.filter(
            pk=attempt.pk, chosen_at=None, created_at__gt=fresh_since
        )
        .exclude(user_token="")
        .update(chosen_at=timezone.now())
    )
    return attempt if claimed else None


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
    request: HttpRequest, invitation: Invitation, connection: Any
) -> HttpResponse:
    context = {"tenant": invitation.tenant, "connection": connection}
    return render(request, "connect/done.html", context)
