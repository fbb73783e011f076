"""Credentials and scripted faults for the Loyalty Engine emulator.

Admin tokens are stateless: a signed, timestamped value naming the sandbox
tenant, so they survive a restart and expire after WLL's 24 hours.
"""

from http import HTTPStatus
from typing import Any

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, JsonResponse

from loyalty.models import SandboxLoyaltyTenant

# WLL's admin tokens last 24 h (WLL docs: admin token).
TOKEN_LIFETIME = 86400
_SALT = "loyalty.emulator.admin-token"


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    # INFERENCE: WLL's error body is undocumented (WLL docs: events);
    # this is the NestJS-style shape its stack most likely produces.
    body = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    return JsonResponse(body, status=status, headers=headers)


def mint_token(tenant: SandboxLoyaltyTenant) -> str:
    return signing.dumps({"tenant": tenant.pk, "client": tenant.client_id}, salt=_SALT)


def token_tenant_id(token: str) -> int | None:
    """The sandbox tenant a token was minted for, or None if invalid/expired."""
    try:
        claims = signing.loads(token, salt=_SALT, max_age=TOKEN_LIFETIME)
    except signing.BadSignature:
        return None
    return claims.get("tenant") if isinstance(claims, dict) else None


def tenant_for_key(request: HttpRequest) -> SandboxLoyaltyTenant | JsonResponse:
    """The tenant named by ``X-Api-Key``, or the error response to send.

    INFERENCE: the status for a missing versus an unknown key is undocumented;
    we answer 401 and 403 respectively.
    """
    api_key = request.headers.get("X-Api-Key", "")
    if not api_key:
        return error_response(401, "Missing X-Api-Key header")
    tenant = SandboxLoyaltyTenant.objects.filter(api_key=api_key).first()
    if tenant is None:
        return error_response(403, "Invalid API key")
    return tenant


def has_admin_token(request: HttpRequest, tenant: SandboxLoyaltyTenant) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return token_tenant_id(token.strip()) == tenant.pk


def next_fault(tenant: SandboxLoyaltyTenant) -> dict[str, Any] | None:
    """Pop the tenant's next scripted fault, if any.

    A fault with ``"after_processing": true`` lets the request do its work and
    only then answers with the error, like a gateway that times out after the
    backend committed: the caller cannot tell whether it succeeded.
    """
    if not tenant.faults:
        return None
    return _pop_fault(tenant.pk)


def fault_response(fault: dict[str, Any]) -> JsonResponse:
    status = int(fault.get("status", 500))
    headers = {}
    if fault.get("retry_after") is not None:
        # A number is seconds; a string is sent verbatim (e.g. an HTTP date).
        headers["Retry-After"] = str(fault["retry_after"])
    return error_response(status, fault.get("message", "Scripted fault"), headers)


def _pop_fault(tenant_pk: int) -> dict[str, Any] | None:
    # The row lock (PostgreSQL) or the write transaction (SQLite, IMMEDIATE mode)
    # makes concurrent requests take distinct faults.
    with transaction.atomic():
        tenant = SandboxLoyaltyTenant.objects.select_for_update().get(pk=tenant_pk)
        if not tenant.faults:
            return None
        fault, *rest = tenant.faults
        tenant.faults = rest
        tenant.save(update_fields=["faults"])
    return fault if isinstance(fault, dict) else {"status": int(fault)}
