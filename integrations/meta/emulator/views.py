"""The Graph API emulator's HTTP face (sandbox only).

Serves ``GET /sandbox/graph/<version>/<node-id>?fields=...`` from the sandbox
tables: the User Profile API for IGSIDs and Business Discovery on the calling
brand's account. Checks the Page token and ``appsecret_proof`` as Meta does, and
answers errors in Meta's envelope so the real client is exercised end to end.
"""

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.meta.emulator import errors, nodes, throttling
from integrations.meta.emulator.fields import FieldSpec, FieldSyntaxError, parse_fields
from integrations.models import SandboxBrand, SandboxInstagramUser, SandboxMedia

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
    return _answer(
        request, node_id, lambda brand, specs: _read_node(brand, node_id, specs)
    )


@csrf_exempt
def tags(
    request: HttpRequest, node_id: str, version: str | None = None
) -> JsonResponse:
    """The brand's ``tags`` edge: cursor paging with ``before``/``after`` only."""
    return _answer(
        request, node_id, lambda brand, specs: _tags(request, brand, node_id, specs)
    )


def _answer(
    request: HttpRequest,
    node_id: str,
    read: Callable[[SandboxBrand, list[FieldSpec]], dict[str, Any]],
) -> JsonResponse:
    brand: SandboxBrand | None = None
    fault: dict[str, Any] | None = None
    try:
        if request.method != "GET":
            raise errors.no_such_object(node_id, (request.method or "").lower())
        brand = authenticate(request)
        fault = throttling.next_fault(brand)
        throttled = throttling.throttle_fault(fault) if fault else None
        if throttled is not None:
            raise throttled
        response = JsonResponse(read(brand, _requested_fields(request)))
    except errors.GraphFault as error:
        response = error.as_response()

    if brand is not None:
        response["X-Business-Use-Case-Usage"] = throttling.business_usage(brand, fault)
    return with_usage(response)


def with_usage(response: JsonResponse) -> JsonResponse:
    response["X-App-Usage"] = _app_usage()
    return response


def _tags(
    request: HttpRequest, brand: SandboxBrand, node_id: str, specs: list[FieldSpec]
) -> dict[str, Any]:
    if node_id != brand.ig_user_id:
        raise errors.no_such_object(node_id)
    limit = _limit(request.GET.get("limit"))
    media = nodes.visible_media(brand, "tags")
    after = request.GET.get("after")
    if after:
        # Keyset cursors: the page after a cursor starts below the media it
        # names, so media removed meanwhile do not shift the pages.
        key = _cursor_key(after)
        media = [item for item in media if nodes.media_order(item) < key]
    page, more = media[:limit], len(media) > limit
    body: dict[str, Any] = {"data": [nodes.media_fields(item, specs) for item in page]}
    if page:
        cursors = {"before": _cursor(page[0])}
        if more:
            cursors["after"] = _cursor(page[-1])
        body["paging"] = {"cursors": cursors}
    return body


def _limit(value: str | None) -> int:
    # INFERENCE: Meta's default page size for edges is 25; the cap is not
    # documented for ``tags``.
    try:
        return max(1, min(int(value or 25), 100))
    except ValueError:
        raise errors.bad_fields("limit must be a number") from None


def _cursor(media: SandboxMedia) -> str:
    raw = f"{media.timestamp}|{media.media_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_key(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        timestamp, _, media_id = (
            base64.urlsafe_b64decode(padded).decode().partition("|")
        )
    except (ValueError, UnicodeDecodeError):
        raise errors.GraphFault(100, "(#100) Invalid cursor") from None
    return nodes.instant(timestamp), media_id


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
