"""The Graph API emulator's HTTP face (sandbox only).

Serves ``GET /sandbox/graph/<version>/<node-id>?fields=...`` from the sandbox
tables: the User Profile API for IGSIDs and Business Discovery on the calling
brand's account. Checks the Page token and ``appsecret_proof`` as Meta does, and
answers errors in Meta's envelope so the real client is exercised end to end.
"""

import hashlib
import hmac
import threading
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.meta.emulator import errors, nodes
from integrations.meta.emulator.fields import FieldSpec, FieldSyntaxError, parse_fields
from integrations.models import SandboxBrand, SandboxInstagramUser

# INFERENCE: with no ``fields`` the real API returns a small default set that
# varies by node type; the emulator answers the id alone.
DEFAULT_FIELDS = "id"

_usage_lock = threading.Lock()
_usage = {"minute": 0, "calls": 0}


@csrf_exempt
def node(
    request: HttpRequest, node_id: str, version: str | None = None
) -> JsonResponse:
    """One Graph node read; ``version`` (``v25.0``) is accepted and ignored."""
    try:
        if request.method != "GET":
            raise errors.no_such_object(node_id, (request.method or "").lower())
        brand = authenticate(request)
        specs = _requested_fields(request)
        response = JsonResponse(_read_node(brand, node_id, specs))
    except errors.GraphFault as fault:
        response = fault.as_response()
    return with_usage(response)


def with_usage(response: JsonResponse) -> JsonResponse:
    response["X-App-Usage"] = _app_usage()
    return response


def authenticate(request: HttpRequest) -> SandboxBrand:
    """The brand whose Page token the request carries (query, form or header)."""
    token = (
        request.GET.get("access_token")
        or request.POST.get("access_token")
        or _bearer_token(request)
    )
    brand = SandboxBrand.objects.filter(page_token=token).first() if token else None
    if brand is None:
        # INFERENCE: Meta answers a missing token with code 104; the emulator
        # folds it into 190 so every token problem reads the same.
        raise errors.invalid_token()

    proof = request.GET.get("appsecret_proof", request.POST.get("appsecret_proof"))
    if proof is not None and not _is_valid_proof(proof, brand.page_token):
        raise errors.invalid_proof()
    return brand


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_valid_proof(proof: str, token: str) -> bool:
    expected = hmac.new(
        settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256
    ).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII strings with a TypeError.
    return hmac.compare_digest(expected.encode(), proof.lower().encode())


def _requested_fields(request: HttpRequest) -> list[FieldSpec]:
    try:
        return parse_fields(request.GET.get("fields") or DEFAULT_FIELDS)
    except FieldSyntaxError as exc:
        raise errors.bad_fields(str(exc)) from None


def _read_node(
    brand: SandboxBrand, node_id: str, specs: list[FieldSpec]
) -> dict[str, Any]:
    # A Page token reaches its own IG account and the people who messaged it;
    # any other id (another brand's account included) is "not found" to it.
    if node_id == brand.ig_user_id:
        return nodes.brand_account(brand, specs)

    user = SandboxInstagramUser.objects.filter(igsid=node_id).first()
    if user is None:
        raise errors.no_such_object(node_id)
    return nodes.user_profile(user, brand, specs)


def _app_usage() -> str:
    """A small, slowly growing ``X-App-Usage`` value (percent of the app limit).

    It rises with calls in the current minute and stays far below the levels at
    which a client should back off.
    """
    minute = int(time.time() // 60)
    with _usage_lock:
        if _usage["minute"] != minute:
            _usage.update(minute=minute, calls=0)
        _usage["calls"] += 1
        percent = min(1 + _usage["calls"] // 20, 25)
    return (
        f'{{"call_count":{percent},"total_cputime":{max(percent // 2, 1)},'
        f'"total_time":{max(percent // 2, 1)}}}'
    )
