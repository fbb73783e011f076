"""WLL's outbound webhook: a member's profile changed, so re-read them.

WLL signs nothing (WLL docs: webhooks). Each tenant's webhook reaction is configured to
send a shared secret in the ``X-Webhook-Secret`` header, which is checked here;
the refresh itself runs in a task, so this view makes no WLL call.
"""

import hmac
import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from loyalty.models import Tenant

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Webhook-Secret"
# authIdentifier is at most 512 characters (WLL docs: users); WLL ids are shorter.
_SUBJECT_MAX = 512


class _Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


AUTH_FAILED = f"missing or wrong {SECRET_HEADER}"


@csrf_exempt
@require_POST
def loyalty_webhook(request: HttpRequest, tenant_slug: str) -> JsonResponse:
    try:
        tenant = _tenant(tenant_slug)
        _authenticate(request, tenant)
        event = _parse(_read_body(request))
    except _Rejected as rejected:
        logger.warning(
            "Rejected WLL webhook for %r: %s",
            tenant_slug,
            rejected.reason,
            extra={"tenant": tenant_slug, "status": rejected.status},
        )
        # Every authentication failure reads the same, so the answer does not
        # tell which tenant slugs exist.
        public = AUTH_FAILED if rejected.status == 401 else rejected.reason
        return JsonResponse({"error": public}, status=rejected.status)

    async_task(
        "loyalty.tasks.refresh_member",
        tenant.pk,
        event["subject"],
        received_at=timezone.now().isoformat(),
        task_name=f"refresh member of {tenant.slug}",
    )
    return JsonResponse({"status": "queued"}, status=202)


def _tenant(slug: str) -> Tenant:
    # Only the secret is needed; skipping the other encrypted fields saves
    # decrypting them on every request.
    tenant = Tenant.objects.filter(slug=slug).only("pk", "slug", "webhook_secret")
    found = tenant.first()
    if found is None:
        raise _Rejected(401, "unknown tenant")
    return found


def _authenticate(request: HttpRequest, tenant: Tenant) -> None:
    # An empty secret means the tenant never set up the webhook: closed.
    expected = tenant.webhook_secret or ""
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not given:
        raise _Rejected(401, f"missing {SECRET_HEADER}")
    # Compared as bytes: compare_digest refuses non-ASCII str.
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise _Rejected(401, f"wrong {SECRET_HEADER}")


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise _Rejected(400, "malformed Content-Length") from None
    if declared > MAX_BODY_BYTES:
        raise _Rejected(413, "body over 1 MB")
    # Read one byte past the limit to notice a body longer than declared.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _Rejected(413, "body over 1 MB")
    return body


def _parse(body: bytes) -> dict[str, Any]:
    """The webhook body: WLL mirrors the report-event shape (WLL docs: webhooks)."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        raise _Rejected(400, "body is not JSON") from None
    if not isinstance(event, dict):
        raise _Rejected(400, "body is not a JSON object")
    problems = _problems(event)
    if problems:
        raise _Rejected(400, problems[0])
    return event


def _problems(event: dict[str, Any]) -> list[str]:
    subject = event.get("subject")
    checks = [
        (isinstance(event.get("type"), str), "type must be a string"),
        (isinstance(event.get("reportedAt"), str), "reportedAt must be a string"),
        (
            isinstance(subject, str) and 0 < len(subject.strip()) <= _SUBJECT_MAX,
            f"subject must be a non-empty string of at most {_SUBJECT_MAX}",
        ),
        (
            not isinstance(subject, str) or subject.isprintable(),
            "subject has control characters",
        ),
        (
            isinstance(event.get("payload", {}), dict | None),
            "payload must be an object",
        ),
    ]
    return [reason for ok, reason in checks if not ok]
