"""Keeping brand connections healthy: the daily check and the 190 rule.

Meta invalidates Page tokens when the owner changes their password, loses the
Page role or removes the app, and unsubscribes a Page after an hour of failed
deliveries. The check finds both; any Graph error in the 190 family, wherever it
is met, marks the connection "needs reconnect" and every scanner skips it
(``BrandConnection.objects.connected()``).
"""

import logging

from django.utils import timezone

from integrations.meta import login
from integrations.meta.graph import GraphClient, GraphError
from integrations.meta.onboarding import SUBSCRIBED_FIELDS
from integrations.models import BrandConnection, ConnectionStatus

logger = logging.getLogger(__name__)


def is_reconnect_error(error: GraphError) -> bool:
    """190 (any subcode: 458, 459, 460, 463, 464, 467, 492) and 102."""
    return error.is_token_error


def mark_needs_reconnect(connection: BrandConnection, reason: str) -> None:
    BrandConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_RECONNECT,
        status_reason=reason[:500],
        checked_at=timezone.now(),
        updated_at=timezone.now(),
    )
    logger.warning(
        "Brand connection needs reconnecting",
        extra={"connection": connection.pk, "tenant": connection.tenant_id},
    )


def check_connections() -> dict[str, int]:
    """django-q2 task: check every connected brand; counts by outcome."""
    # Backstop for the connect pages' own sweep, should nobody open them.
    login.forget_stale_attempts()
    outcomes = {"ok": 0, "resubscribed": 0, "needs_reconnect": 0, "failed": 0}
    for connection in BrandConnection.objects.connected():
        outcomes[check_connection(connection)] += 1
    logger.info("Connections checked", extra=outcomes)
    return outcomes


def check_connection(connection: BrandConnection) -> str:
    try:
        inspected = GraphClient.for_app().debug_token(connection.page_token)
        if not inspected.get("is_valid"):
            mark_needs_reconnect(connection, _invalid_reason(inspected))
            return "needs_reconnect"
        repaired = _repair_subscription(connection)
    except GraphError as error:
        if is_reconnect_error(error):
            mark_needs_reconnect(connection, graph_reason(error))
            return "needs_reconnect"
        logger.warning(
            "Connection check failed; trying again next run",
            extra={"connection": connection.pk, "code": error.code},
        )
        return "failed"
    return "resubscribed" if repaired else "ok"


def _repair_subscription(connection: BrandConnection) -> bool:
    """Re-subscribe missing fields; True when something had to be repaired."""
    client = GraphClient(connection.page_token)
    fields = client.subscribed_fields(connection.page_id)
    missing = [name for name in SUBSCRIBED_FIELDS if name not in fields]
    if missing:
        client.subscribe(connection.page_id, missing)
        fields = client.subscribed_fields(connection.page_id)
        logger.warning(
            "Page subscription repaired", extra={"connection": connection.pk}
        )
    BrandConnection.objects.filter(pk=connection.pk).update(
        subscribed_fields=fields, checked_at=timezone.now()
    )
    return bool(missing)


def graph_reason(error: GraphError) -> str:
    return f"Graph error {error.code}/{error.subcode}: {error.message}"


def _invalid_reason(inspected: dict) -> str:
    error = inspected.get("error") or {}
    return (
        f"Token no longer valid (debug_token: {error.get('code')}/"
        f"{error.get('subcode')}). Send the brand a new invitation."
    )
