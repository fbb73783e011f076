"""Business Discovery through a one-hour cache shared by every worker.

Business Discovery counts against the app's platform limit, which every brand
shares, and a busy member can mention and tag several brands in an hour.
"""

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from integrations.instagram import ratelimits
from integrations.meta.graph import GraphClient, GraphError
from integrations.models import BrandConnection, DiscoveryCacheEntry

logger = logging.getLogger(__name__)

CACHE_FOR = timedelta(hours=1)


def discover(
    client: GraphClient, connection: BrandConnection, username: str
) -> dict[str, Any]:
    """Bio and counts of a business or creator account; {} for anyone else.

    Answers (including "no such business account") are reused for an hour;
    errors are not cached, and never stop the caller: this is enrichment.
    """
    key = username.casefold()
    fresh = DiscoveryCacheEntry.objects.filter(
        username=key, fetched_at__gte=timezone.now() - CACHE_FOR
    ).first()
    if fresh is not None:
        return fresh.answer if fresh.is_found else {}

    try:
        answer = client.business_discovery(connection.ig_user_id, username)
    except GraphError as error:
        ratelimits.record_usage(connection, client.last_usage)
        logger.warning(
            "Business Discovery failed (code %s)",
            error.code,
            extra={"connection": connection.pk, "fbtrace_id": error.fbtrace_id},
        )
        return {}
    ratelimits.record_usage(connection, client.last_usage)

    DiscoveryCacheEntry.objects.update_or_create(
        username=key,
        defaults={
            "is_found": answer is not None,
            "answer": answer or {},
            "fetched_at": timezone.now(),
        },
    )
    return answer or {}
