"""Meta's deauthorize and data deletion callbacks, and the deletion status page.

Both POSTs carry a ``signed_request`` naming the app-scoped Facebook user who
removed the app. Anything not signed with our app secret, or naming no numeric
user id, gets a 400. Both are safe to replay: a second deauthorize changes
nothing, and a data deletion repeated within a day answers the first one's code.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integrations.meta.signed_request import (
    SignedRequestError,
    parse_signed_request,
    signed_user_id,
)
from integrations.models import (
    BrandConnection,
    ConnectAttempt,
    ConnectionStatus,
    DataDeletionRequest,
)

logger = logging.getLogger(__name__)

# A repeat of a data deletion request within this long is answered with the
# first request's confirmation code rather than a new one.
DELETION_REPLAY_WINDOW = timedelta(days=1)


@csrf_exempt  # Meta posts these; the signed_request is the authentication
@require_POST
def deauthorize(request: HttpRequest) -> HttpResponse:
    user_id = _signed_user_id(request)
    if user_id is None:
        return _refused()
    revoked = revoke_connections(
        user_id, "The brand owner removed the app on Facebook."
    )
    logger.info("Deauthorize callback handled", extra={"connections": revoked})
    return JsonResponse({"success": True})


@csrf_exempt
@require_POST
def data_deletion(request: HttpRequest) -> HttpResponse:
    user_id = _signed_user_id(request)
    if user_id is None:
        return _refused()
    row = erase_user(user_id)
    status_url = settings.PUBLIC_BASE_URL + reverse(
        "meta-data-deletion-status", args=[row.confirmation_code]
    )
    return JsonResponse({"url": status_url, "confirmation_code": row.confirmation_code})


@require_GET
def data_deletion_status(request: HttpRequest, code: str) -> HttpResponse:
    row = get_object_or_404(DataDeletionRequest, confirmation_code=code)
    return render(request, "connect/deletion_status.html", {"request_row": row})


def revoke_connections(user_id: str, reason: str) -> int:
    """Disconnect everything this person connected; their tokens are dead."""
    return BrandConnection.objects.filter(fb_user_id=user_id).update(
        status=ConnectionStatus.DISCONNECTED,
        status_reason=reason,
        page_token="",
        # The Page subscription is gone with the app; the admin must not say
        # otherwise.
        subscribed_fields=[],
        updated_at=timezone.now(),
    )


def erase_user(user_id: str) -> DataDeletionRequest:
    """Delete the tokens and personal data held for this app-scoped user."""
    with transaction.atomic():
        erased = revoke_connections(user_id, "Meta asked us to delete this data.")
        BrandConnection.objects.filter(fb_user_id=user_id).update(
            fb_user_id="", granted_scopes=[]
        )
        ConnectAttempt.objects.filter(fb_user_id=user_id).delete()
        row = _record_deletion(hashlib.sha256(user_id.encode()).hexdigest(), erased)
    logger.info("Data deletion done", extra={"request": row.confirmation_code})
    return row


def _record_deletion(user_hash: str, erased: int) -> DataDeletionRequest:
    """A new request row, or the same person's recent one (Meta retried)."""
    now = timezone.now()
    recent = (
        DataDeletionRequest.objects.filter(
            user_hash=user_hash, created_at__gte=now - DELETION_REPLAY_WINDOW
        )
        .order_by("-created_at")
        .first()
    )
    if recent is not None:
        # The erase ran again anyway; count anything it found this time.
        recent.connections_erased += erased
        recent.completed_at = now
        recent.save(update_fields=["connections_erased", "completed_at"])
        return recent
    return DataDeletionRequest.objects.create(
        confirmation_code=secrets.token_hex(10),
        user_hash=user_hash,
        connections_erased=erased,
        completed_at=now,
    )


def _signed_user_id(request: HttpRequest) -> str | None:
    try:
        payload = parse_signed_request(
            request.POST.get("signed_request", ""), settings.META_APP_SECRET
        )
        return signed_user_id(payload)
    except SignedRequestError as error:
        logger.warning("Meta callback with a bad signed_request: %s", error)
        return None


def _refused() -> JsonResponse:
    return JsonResponse({"error": "Missing or invalid signed_request."}, status=400)
