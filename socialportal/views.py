"""Views that belong to no integration."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and ``make run``."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})


# A plain dot, so browsers asking for /favicon.ico on every page get an answer
# instead of a 404 in their console.
_ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<circle cx="8" cy="8" r="7" fill="#1877f2"/></svg>'
)


def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_ICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
