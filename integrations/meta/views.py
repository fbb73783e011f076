"""Meta's webhook endpoint: verify, persist the raw delivery, enqueue, answer.

Meta wants a 200 within seconds and unsubscribes an app whose messaging
deliveries fail for an hour, so nothing here calls an API or loops over entries:
the work happens in ``integrations.instagram.tasks.process_delivery``.
"""

import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_q.tasks import async_task

from integrations.meta import payloads
from integrations.meta.signatures import is_valid_signature
from integrations.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

PROCESS_DELIVERY = "integrations.instagram.tasks.process_delivery"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    return _receive(request)


def _handshake(request: HttpRequest) -> HttpResponse:
    # Meta echoes back whatever verify token was typed into the App Dashboard.
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.META_VERIFY_TOKEN

    token_ok = bool(expected) and secrets.compare_digest(
        token.encode(), expected.encode()
    )
    if mode != "subscribe" or not token_ok:
        logger.warning("Meta webhook handshake refused", extra={"hub_mode": mode})
        return HttpResponse(
            "Verification failed.", status=403, content_type="text/plain"
        )

    return HttpResponse(challenge, content_type="text/plain")


def _receive(request: HttpRequest) -> HttpResponse:
    body = _read_body(request)
    if body is None:
        logger.warning("Meta webhook body over the size limit")
        return _error(413, "The body is larger than this endpoint accepts.")

    signature = request.headers.get("X-Hub-Signature-256")
    if not is_valid_signature(body, signature, settings.META_APP_SECRET):
        logger.warning(
            "Meta webhook with a missing or wrong signature",
            extra={"has_signature": bool(signature), "body_bytes": len(body)},
        )
        return _error(403, "Missing or invalid X-Hub-Signature-256.")

    reason = _unusable_reason(body)
    if reason:
        # Signed by Meta yet unusable: keep it so someone can look at it.
        delivery = WebhookDelivery.objects.create(
            body=body, status=DeliveryStatus.REJECTED, error=reason
        )
        logger.warning(
            "Signed Meta delivery rejected: %s", reason, extra={"delivery": delivery.pk}
        )
        return _error(400, reason)

    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(body=body)
        # On the ORM broker the task row commits with the delivery, or neither does.
        async_task(PROCESS_DELIVERY, delivery.pk, task_name=f"delivery-{delivery.pk}")
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is larger than the limit.

    Read by hand rather than through ``request.body`` so a body without a
    Content-Length (chunked) is bounded too.
    """
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    if len(body) > limit:
        return None
    return body


def _unusable_reason(body: bytes) -> str:
    try:
        parsed = payloads.loads(body)
    except payloads.NotJson as error:
        return str(error)
    if not isinstance(parsed, dict):
        return "The body is JSON but not an object."
    if not isinstance(parsed.get("entry", []), list):
        return "The body's 'entry' is not a list."
    return ""


def _error(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)
