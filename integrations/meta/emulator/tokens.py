"""Token inspection, a person's Pages and Page subscriptions, emulated.

``/me/accounts`` takes a user token from the login dialog; ``debug_token`` an app
token (``{app-id}|{app-secret}``); ``subscribed_apps`` the Page's own token.
"""

import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.meta.emulator import errors, login
from integrations.meta.emulator.views import authenticate, with_usage
from integrations.models import SandboxBrand, SandboxGrant

APP_NAME = "Social portal (sandbox)"


@csrf_exempt
def accounts(request: HttpRequest, version: str) -> JsonResponse:
    try:
        grant = login.user_grant(request.GET.get("access_token", ""))
        if grant is None:
            raise errors.invalid_token()
        # One page of results: the sandbox never has more than fit in one.
        body: dict[str, Any] = {"data": login.page_entries(grant), "paging": {}}
        return with_usage(JsonResponse(body))
    except errors.GraphFault as fault:
        return fault.as_response()


@csrf_exempt
def debug_token(request: HttpRequest, version: str) -> JsonResponse:
    try:
        _check_app_token(request.GET.get("access_token", ""))
        return JsonResponse({"data": _inspect(request.GET.get("input_token", ""))})
    except errors.GraphFault as fault:
        return fault.as_response()


def _check_app_token(token: str) -> None:
    expected = f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise errors.GraphFault(190, "Invalid OAuth access token signature.")


def _inspect(token: str) -> dict[str, Any]:
    grant = login.user_grant(token)
    if grant is not None:
        return {**_valid("USER", grant.scopes, grant), "user_id": grant.fb_user_id}
    brand = SandboxBrand.objects.filter(page_token=token).first() if token else None
    if brand is None:
        # Meta answers an unusable token with 200 and is_valid false.
        return {
            "is_valid": False,
            "scopes": [],
            "error": {
                "code": 190,
                "message": "Invalid OAuth access token.",
                "subcode": 467,
            },
        }
    grant = _latest_grant_for(brand)
    # A brand the world file connected directly was granted everything.
    scopes = grant.scopes if grant else list(login.PERMISSIONS)
    answer = _valid("PAGE", scopes, grant)
    answer["profile_id"] = brand.page_id
    answer["user_id"] = grant.fb_user_id if grant else login.TESTER_ID
    return answer


def _valid(kind: str, scopes: list[str], grant: SandboxGrant | None) -> dict[str, Any]:
    # INFERENCE: expires_at 0 for tokens that do not expire (Page tokens from a
    # long-lived user token, per the reference).
    return {
        "app_id": settings.META_APP_ID,
        "type": kind,
        "application": APP_NAME,
        "is_valid": True,
        "expires_at": 0,
        "data_access_expires_at": 0,
        "scopes": scopes,
        "granular_scopes": _granular(scopes, grant),
    }


def _granular(scopes: list[str], grant: SandboxGrant | None) -> list[dict[str, Any]]:
    brands = SandboxBrand.objects.filter(page_id__in=grant.page_ids) if grant else []
    page_ids = list(grant.page_ids) if grant else []
    ig_ids = [brand.ig_user_id for brand in brands]
    granular = []
    for scope in scopes:
        if scope.startswith("pages_"):
            granular.append({"scope": scope, "target_ids": page_ids})
        elif scope.startswith("instagram_"):
            granular.append({"scope": scope, "target_ids": ig_ids})
        else:
            granular.append({"scope": scope})
    # A world-made brand has no grant: Meta omits target_ids for whole grants.
    return [g for g in granular if g.get("target_ids") or not grant]


def _latest_grant_for(brand: SandboxBrand) -> SandboxGrant | None:
    for grant in SandboxGrant.objects.exclude(long_token="").order_by("-pk"):
        if brand.page_id in grant.page_ids:
            return grant
    return None


@csrf_exempt
def subscribed_apps(request: HttpRequest, version: str, page_id: str) -> JsonResponse:
    try:
        brand = authenticate(request)
        if brand.page_id != page_id:
            raise errors.GraphFault(
                210, "(#210) A page access token is required to request this resource."
            )
        if request.method == "POST":
            return with_usage(JsonResponse(_subscribe(brand, request)))
        return with_usage(JsonResponse({"data": _installed(brand)}))
    except errors.GraphFault as fault:
        return fault.as_response()


def _subscribe(brand: SandboxBrand, request: HttpRequest) -> dict[str, Any]:
    grant = _latest_grant_for(brand)
    if grant is not None and "pages_manage_metadata" not in grant.scopes:
        raise errors.GraphFault(
            200, "(#200) Requires pages_manage_metadata permission to manage the object"
        )
    fields = [f for f in request.POST.get("subscribed_fields", "").split(",") if f]
    unknown = [f for f in fields if f not in login.PAGE_FIELDS]
    if not fields or unknown:
        raise errors.GraphFault(
            100,
            "(#100) Param subscribed_fields must be one of "
            f"{{{', '.join(sorted(login.PAGE_FIELDS))}}}",
        )
    brand.subscribed_fields = sorted(set(brand.subscribed_fields) | set(fields))
    brand.save(update_fields=["subscribed_fields"])
    return {"success": True}


def _installed(brand: SandboxBrand) -> list[dict[str, Any]]:
    if not brand.subscribed_fields:
        return []
    return [
        {
            "id": settings.META_APP_ID,
            "name": APP_NAME,
            "subscribed_fields": brand.subscribed_fields,
        }
    ]
