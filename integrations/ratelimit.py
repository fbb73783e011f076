"""A fixed-window request limiter kept in the database.

The cache is per process by default, so a limit kept there would multiply with
the number of web workers; a row per client address and window does not.
Put the decorator under the HTTP method check: a refused method must not count.
"""

import hashlib
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from integrations.models import RateLimitHit

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def client_address(request: HttpRequest) -> str:
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        # The proxy appends the address it saw; earlier entries are the client's
        # own claims and can be forged.
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def hit(scope: str, address: str, limit: int, window: int) -> bool:
    """Count one request; False when the address is over ``limit`` this window."""
    # Hashed: the table has no need to hold people's addresses.
    key = hashlib.sha256(f"{scope}:{address}".encode()).hexdigest()
    start = _window_start(timezone.now(), window)
    rows = RateLimitHit.objects.filter(key=key, window_start=start)
    if not rows.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                RateLimitHit.objects.create(key=key, window_start=start, count=1)
        except IntegrityError:  # another process created it first
            rows.update(count=F("count") + 1)
    _forget_old(start, window)
    return (rows.values_list("count", flat=True).first() or 0) <= limit


def limit_connect(view: View) -> View:
    """Decorator for the /connect/ views: 429 past the configured limit."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = hit(
            "connect",
            client_address(request),
            settings.CONNECT_RATE_LIMIT,
            settings.CONNECT_RATE_WINDOW,
        )
        if not allowed:
            logger.warning("Connect page rate limit reached")
            context = {
                "title": "Too many attempts",
                "lines": ["Please wait a few minutes, then open your link again."],
            }
            response = render(request, "connect/message.html", context, status=429)
            retry = seconds_left(timezone.now(), settings.CONNECT_RATE_WINDOW)
            response["Retry-After"] = str(retry)
            return response
        return view(request, *args, **kwargs)

    return limited


def seconds_left(now: datetime, window: int) -> int:
    """Whole seconds until the window holding ``now`` ends (at least 1)."""
    ends = _window_start(now, window) + timedelta(seconds=window)
    return max(1, math.ceil((ends - now).total_seconds()))


def _window_start(now: datetime, window: int) -> datetime:
    seconds = int(now.timestamp()) // window * window
    return datetime.fromtimestamp(seconds, tz=now.tzinfo)


def _forget_old(start: datetime, window: int) -> None:
    RateLimitHit.objects.filter(
        window_start__lt=start - timedelta(seconds=window)
    ).delete()
