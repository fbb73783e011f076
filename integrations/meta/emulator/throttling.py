"""Usage headers and scripted throttling for the Graph API emulator.

Each brand's calls are counted per minute into an ``X-Business-Use-Case-Usage``
header (percent of the limit, staying low). A brand's ``faults`` list scripts
what the next requests get, one entry consumed per request made with its
token: ``{"code": 80002, "minutes": 2}`` answers a throttling error whose usage
header says when access returns, ``{"usage": 85}`` serves normally but reports
85% usage.
"""

import json
import threading
import time
from typing import Any

from django.db import transaction

from integrations.meta.emulator.errors import GraphFault
from integrations.models import SandboxBrand

# Meta's messages for the throttling codes (rate-limiting guide).
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account.",
    80002: "(#80002) There have been too many calls to this Instagram account.",
}

_lock = threading.Lock()
_calls: dict[str, tuple[int, int]] = {}


def next_fault(brand: SandboxBrand) -> dict[str, Any] | None:
    """Consume the brand's next scripted fault, if any (one per request)."""
    with transaction.atomic():
        locked = SandboxBrand.objects.select_for_update().get(pk=brand.pk)
        if not isinstance(locked.faults, list) or not locked.faults:
            return None
        fault, *rest = locked.faults
        locked.faults = rest
        locked.save(update_fields=["faults"])
    return fault if isinstance(fault, dict) else None


def throttle_fault(fault: dict[str, Any]) -> GraphFault | None:
    code = fault.get("code")
    if code not in THROTTLE_MESSAGES:
        return None
    return GraphFault(int(code), THROTTLE_MESSAGES[int(code)])


def business_usage(brand: SandboxBrand, fault: dict[str, Any] | None) -> str:
    """The ``X-Business-Use-Case-Usage`` header for one answer to ``brand``."""
    percent = _percent(brand.ig_user_id)
    regain = 0
    if fault and "usage" in fault:
        percent = int(fault["usage"])
    if fault and fault.get("code") in THROTTLE_MESSAGES:
        percent, regain = 100, int(fault.get("minutes", 1))
    entry = {
        "type": "instagram",
        "call_count": percent,
        "total_cputime": max(percent // 2, 1),
        "total_time": max(percent // 2, 1),
        "estimated_time_to_regain_access": regain,
    }
    return json.dumps({brand.ig_user_id: [entry]}, separators=(",", ":"))


def _percent(key: str) -> int:
    # Grows with the calls of the current minute and stays far below the
    # levels at which a client should slow down.
    minute = int(time.time() // 60)
    with _lock:
        seen_minute, calls = _calls.get(key, (minute, 0))
        calls = calls + 1 if seen_minute == minute else 1
        _calls[key] = (minute, calls)
    return min(1 + calls // 20, 25)
