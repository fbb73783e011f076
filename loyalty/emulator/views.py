"""The Loyalty Engine emulator's endpoints (sandbox only).

Requests are validated against the request schemas of WLL's OpenAPI document
(see ``schemas``); responses follow what WLL's documentation reports, and
where WLL's behaviour is undocumented the choice is marked INFERENCE.

INFERENCE: single objects are answered wrapped as ``{"data": {...}}`` like the
lists (WLL's web SDK reads ``.data`` from its responses); our client accepts
both shapes.
"""

import json
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from loyalty.emulator import auth
from loyalty.emulator.schemas import (
    EVENT_DEFINITION,
    LIST_QUERY_PARAMS,
    USER_PATCH,
    first_error,
)
from loyalty.models import SandboxLoyaltyEvent, SandboxLoyaltyTenant, SandboxLoyaltyUser

# INFERENCE: the default page size of GET /users is undocumented.
DEFAULT_LIMIT = 100

Handler = Callable[..., HttpResponse]


def api_view(*, methods: set[str], admin: set[str]) -> Callable[[Handler], Handler]:
    """Checks every /v1 call shares: method, API key, scripted faults, and the
    admin token for the methods in ``admin``.

    Listing events and reading one user need only the API key, so a demo or a
    test can inspect what was reported.
    """

    def decorate(handler: Handler) -> Handler:
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return auth.error_response(405, f"{request.method} not allowed")
            tenant = auth.tenant_for_key(request)
            if isinstance(tenant, JsonResponse):
                return tenant
            fault = auth.next_fault(tenant)
            if fault is not None and not fault.get("after_processing"):
                return auth.fault_response(fault)
            if request.method in admin and not auth.has_admin_token(request, tenant):
                return auth.error_response(401, "Missing or invalid admin token")
            response = handler(request, tenant, **kwargs)
            if fault is not None:
                return auth.fault_response(fault)
            return response

        return view

    return decorate


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """``POST /oauth/token``: the client-credentials grant (WLL docs: admin token)."""
    if request.method != "POST":
        return auth.error_response(405, "POST only")
    body = _json_body(request)
    if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
        return _denied("Unsupported or missing grant_type")
    if not body.get("audience"):
        return _denied("Missing audience")

    tenant = SandboxLoyaltyTenant.objects.filter(
        client_id=str(body.get("client_id", ""))
    ).first()
    given = str(body.get("client_secret", ""))
    if tenant is None or not secrets.compare_digest(given, tenant.client_secret):
        return _denied("Unauthorized")

    return JsonResponse(
        {
            "access_token": auth.mint_token(tenant),
            "expires_in": auth.TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": "",
        }
    )


@api_view(methods={"GET", "POST"}, admin={"POST"})
def events(request: HttpRequest, tenant: SandboxLoyaltyTenant) -> HttpResponse:
    if request.method == "POST":
        return _report_event(request, tenant)
    return _list_events(request, tenant)


@api_view(methods={"GET"}, admin={"GET"})
def users(request: HttpRequest, tenant: SandboxLoyaltyTenant) -> HttpResponse:
    params, problem = _list_params(request)
    if problem:
        return auth.error_response(400, problem)

    rows = SandboxLoyaltyUser.objects.filter(tenant=tenant)
    order = ["created_at", "id"] if params["order"] == "ASC" else ["-created_at", "-id"]
    skip = int(params.get("skip", 0))
    limit = int(params.get("limit", DEFAULT_LIMIT))
    page = rows.order_by(*order)[skip : skip + limit]
    return JsonResponse({"data": [_user_json(user) for user in page]})


@api_view(methods={"GET", "PATCH"}, admin={"PATCH"})
def user(
    request: HttpRequest, tenant: SandboxLoyaltyTenant, user_id: str
) -> HttpResponse:
    found = SandboxLoyaltyUser.objects.filter(tenant=tenant, id=user_id).first()
    if found is None:
        return auth.error_response(404, f"User {user_id} not found")
    if request.method == "PATCH":
        return _patch_user(request, found)
    return JsonResponse({"data": _user_json(found)})


def _report_event(request: HttpRequest, tenant: SandboxLoyaltyTenant) -> HttpResponse:
    # Limitation: real WLL also takes a private event type's secret as the
    # bearer token; the emulator knows only admin tokens.
    body = _json_body(request)
    problem = first_error(EVENT_DEFINITION, body)
    if problem:
        return auth.error_response(400, problem)
    if "subject" not in body:
        # INFERENCE: the spec only requires `type`, but an event is about a user.
        return auth.error_response(400, "subject: is required")

    subject = body["subject"]
    member = _find_subject(tenant, subject)
    if member is None:
        # INFERENCE (WLL docs: events): undocumented; a 404 is the likeliest answer.
        return auth.error_response(404, f"User {subject} not found")

    event = SandboxLoyaltyEvent.objects.create(
        tenant=tenant,
        user=member,
        type=body["type"],
        subject=subject,
        payload=body.get("payload") or {},
        occurred_at=body.get("occurredAt", ""),
    )
    return JsonResponse({"data": _event_json(event)})


def _list_events(request: HttpRequest, tenant: SandboxLoyaltyTenant) -> HttpResponse:
    rows = SandboxLoyaltyEvent.objects.filter(tenant=tenant).select_related("user")
    if subject := request.GET.get("subject"):
        rows = rows.filter(subject=subject)
    if event_type := request.GET.get("type"):
        rows = rows.filter(type=event_type)
    return JsonResponse({"data": [_event_json(event) for event in rows.order_by("id")]})


def _patch_user(request: HttpRequest, found: SandboxLoyaltyUser) -> HttpResponse:
    body = _json_body(request)
    problem = first_error(USER_PATCH, body)
    if problem:
        return auth.error_response(400, problem)

    # INFERENCE (WLL docs: users): whether WLL merges
    # or replaces
    # `profile.attributes` is undocumented. The emulator REPLACES the whole
    # object, the stricter reading, so a client that forgets to read first
    # loses data in tests instead of in production.
    # Limitation: only `profile` is kept; other UserPatch fields are validated
    # and dropped.
    profile = dict(found.profile)
    profile.update(body.get("profile") or {})
    found.profile = profile
    found.save(update_fields=["profile", "updated_at"])
    return JsonResponse({"data": _user_json(found)})


def _list_params(request: HttpRequest) -> tuple[dict[str, Any], str | None]:
    params: dict[str, Any] = {}
    for name in ("limit", "skip"):
        if name in request.GET:
            try:
                params[name] = int(request.GET[name])
            except ValueError:
                return params, f"{name}: must be an integer"
    if "order" in request.GET:
        params["order"] = request.GET["order"]
    if "filter" in request.GET:
        params["filter"] = request.GET["filter"]
    return params, first_error(LIST_QUERY_PARAMS, params)


def _find_subject(
    tenant: SandboxLoyaltyTenant, subject: str
) -> SandboxLoyaltyUser | None:
    # A subject may be the WLL id, the account number or the authIdentifier.
    match = Q(id=subject) | Q(account_number=subject) | Q(auth_identifier=subject)
    return SandboxLoyaltyUser.objects.filter(match, tenant=tenant).first()


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _denied(description: str) -> JsonResponse:
    # Auth0's shape, which WLL's token endpoint is (WLL docs: admin token).
    body = {"error": "access_denied", "error_description": description}
    return JsonResponse(body, status=401)


def _user_json(found: SandboxLoyaltyUser) -> dict[str, Any]:
    profile = dict(found.profile)
    profile.setdefault("attributes", {})
    return {
        "id": found.id,
        "authIdentifier": found.auth_identifier or None,
        "accountNumber": found.account_number or None,
        "profile": profile,
        "createdAt": found.created_at.isoformat(),
        "updatedAt": found.updated_at.isoformat(),
    }


def _event_json(event: SandboxLoyaltyEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event.type,
        "subject": event.subject,
        "user": {"id": event.user_id},
        "payload": event.payload,
        "occurredAt": event.occurred_at,
        "reportedAt": event.reported_at.isoformat(),
    }
