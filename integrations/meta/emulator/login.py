"""Facebook Login for Business as the emulator plays it (sandbox only).

The dialog is a plain form where the tester picks which Pages and permissions to
grant, or cancels. Behind it: the code and token exchanges, ``/me/accounts``,
``debug_token`` and a Page's ``subscribed_apps``, answering Meta's error envelope
where the reference documents one.
"""

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integrations.meta.emulator import errors
from integrations.models import SandboxBrand, SandboxGrant

# What the emulated Login for Business configuration asks for (reference §6.2).
PERMISSIONS = (
    "instagram_basic",
    "instagram_manage_messages",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
)
# Limitation: the sandbox has one Facebook user (an app-scoped id, as Meta
# hands apps), and every sandbox Page is offered to it.
TESTER_ID = "10229000000000001"
# A Page with no Instagram account linked: the "nothing to connect" case.
PLAIN_PAGE = {"id": "100900000000001", "name": "Corner Shop (no Instagram)"}
# Meta: a code lives about an hour; short tokens an hour or two; long ~60 days.
CODE_LIFETIME = timedelta(hours=1)
SHORT_EXPIRES_IN = 5400
LONG_EXPIRES_IN = 5_184_000
# INFERENCE: the Page webhook fields accepted here; Meta's list is longer.
PAGE_FIELDS = {
    "messages",
    "messaging_postbacks",
    "message_reactions",
    "message_reads",
    "messaging_referrals",
    "mentions",
    "feed",
}


@require_http_methods(["GET", "POST"])
def dialog(request: HttpRequest, version: str) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    problem = _dialog_problem(params)
    if problem:
        # Facebook shows its own error page and never redirects a bad request.
        return render(
            request, "sandbox/dialog_error.html", {"problem": problem}, status=400
        )
    if request.method == "GET":
        return render(request, "sandbox/dialog.html", _dialog_context(params))
    if "cancel" in request.POST:
        return _redirect_back(params, _denied(params))
    return _redirect_back(params, {"code": _grant(request).code})


def _dialog_problem(params: Any) -> str:
    expected_uri = f"{settings.PUBLIC_BASE_URL}/connect/callback/"
    if params.get("client_id") != settings.META_APP_ID:
        return "Invalid App ID: the client_id is not a known app."
    if params.get("redirect_uri") != expected_uri:
        return "URL blocked: the redirect_uri is not a valid OAuth redirect URI."
    if params.get("response_type") != "code":
        return "This configuration needs response_type=code."
    if not params.get("config_id"):
        return "A Facebook Login for Business configuration (config_id) is needed."
    return ""


def _dialog_context(params: Any) -> dict[str, Any]:
    pages = [
        {
            "id": brand.page_id,
            "name": brand.page_name or brand.username,
            "instagram": brand.username,
        }
        for brand in SandboxBrand.objects.all()
    ]
    pages.append({**PLAIN_PAGE, "instagram": ""})
    passed = ("client_id", "redirect_uri", "state", "config_id", "response_type")
    return {
        "pages": pages,
        "permissions": PERMISSIONS,
        "hidden": {name: params.get(name, "") for name in passed},
    }


def _grant(request: HttpRequest) -> SandboxGrant:
    return SandboxGrant.objects.create(
        code=secrets.token_urlsafe(32),
        redirect_uri=request.POST["redirect_uri"],
        fb_user_id=TESTER_ID,
        scopes=[p for p in request.POST.getlist("scope") if p in PERMISSIONS],
        page_ids=request.POST.getlist("page"),
    )


def _denied(params: Any) -> dict[str, str]:
    # Reference: Facebook Login manual flow, "Canceled Login".
    return {
        "error": "access_denied",
        "error_code": "200",
        "error_description": "Permissions error",
        "error_reason": "user_denied",
    }


def _redirect_back(params: Any, answer: dict[str, str]) -> HttpResponseRedirect:
    query = urlencode({**answer, "state": params.get("state", "")})
    return HttpResponseRedirect(f"{params['redirect_uri']}?{query}")


@csrf_exempt
def access_token(request: HttpRequest, version: str) -> JsonResponse:
    """Both exchanges: ``code`` for a short token, ``fb_exchange_token`` for a long."""
    try:
        _check_app(request)
        if request.GET.get("grant_type") == "fb_exchange_token":
            return JsonResponse(_long_lived(request.GET.get("fb_exchange_token", "")))
        return JsonResponse(_code_exchange(request))
    except errors.GraphFault as fault:
        return fault.as_response()


def _check_app(request: HttpRequest) -> None:
    same_id = request.GET.get("client_id") == settings.META_APP_ID
    same_secret = secrets.compare_digest(
        request.GET.get("client_secret", "").encode(), settings.META_APP_SECRET.encode()
    )
    if not (same_id and same_secret):
        # INFERENCE: the message Meta is reported to answer a wrong secret with.
        raise errors.GraphFault(1, "Error validating client secret.")


def _code_exchange(request: HttpRequest) -> dict[str, Any]:
    grant = SandboxGrant.objects.filter(code=request.GET.get("code", "")).first()
    # INFERENCE: subcodes 36007/36008/36009 as community reports give them.
    if grant is None or grant.created_at < timezone.now() - CODE_LIFETIME:
        raise errors.GraphFault(100, "Invalid verification code format.", subcode=36007)
    if grant.redirect_uri != request.GET.get("redirect_uri"):
        raise errors.GraphFault(
            100,
            "Error validating verification code. Please make sure your "
            "redirect_uri is identical to the one you used in the OAuth dialog "
            "request",
            subcode=36008,
        )
    claimed = SandboxGrant.objects.filter(pk=grant.pk, code_used=False).update(
        code_used=True, short_token="EAAU" + secrets.token_hex(24)
    )
    if not claimed:
        raise errors.GraphFault(
            100, "This authorization code has been used.", subcode=36009
        )
    grant.refresh_from_db()
    return _bearer(grant.short_token, SHORT_EXPIRES_IN)


def _long_lived(short_token: str) -> dict[str, Any]:
    grant = (
        SandboxGrant.objects.filter(short_token=short_token).first()
        if (short_token)
        else None
    )
    if grant is None:
        raise errors.invalid_token()
    if not grant.long_token:
        grant.long_token = "EAAL" + secrets.token_hex(24)
        grant.save(update_fields=["long_token"])
    return _bearer(grant.long_token, LONG_EXPIRES_IN)


def _bearer(token: str, expires_in: int) -> dict[str, Any]:
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


def user_grant(token: str) -> SandboxGrant | None:
    if not token:
        return None
    return (
        SandboxGrant.objects.filter(short_token=token).first()
        or SandboxGrant.objects.filter(long_token=token).first()
    )


def page_entries(grant: SandboxGrant) -> list[dict[str, Any]]:
    """``/me/accounts`` items for the Pages the grant covers."""
    entries = []
    for brand in SandboxBrand.objects.filter(page_id__in=grant.page_ids):
        entries.append(
            {
                "id": brand.page_id,
                "name": brand.page_name or brand.username,
                "access_token": brand.page_token,
                "tasks": ["MANAGE", "MODERATE", "MESSAGING", "ANALYZE", "ADVERTISE"],
                "instagram_business_account": {
                    "id": brand.ig_user_id,
                    "username": brand.username,
                },
            }
        )
    if PLAIN_PAGE["id"] in grant.page_ids:
        entries.append(
            {
                **PLAIN_PAGE,
                "access_token": "EAAP" + grant.code[:24],
                "tasks": ["MANAGE"],
            }
        )
    return entries
