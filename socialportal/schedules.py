"""The django-q2 schedules the product runs, kept in code and written on migrate.

Each is keyed by name and updated in place, so changing an interval here and
running ``migrate`` is all a deployment needs.
"""

from typing import Any

from django_q.models import Schedule

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "drain the loyalty outbox",
        "func": "loyalty.tasks.drain_outbox",
        "minutes": 1,
    },
    {
        "name": "resume stalled Instagram work",
        "func": "integrations.instagram.tasks.resume_stalled",
        "minutes": 2,
    },
    {
        # Tags have no webhook: this keeps the promise of "within five minutes".
        # django-q2 checks schedules every ~30 s, so a run starts up to 30 s
        # late, and the queue and the walk take time too: 4 minutes leaves that
        # margin. One scan per brand at a time is enforced by the scanner.
        "name": "scan Instagram tags",
        "func": "integrations.instagram.tasks.scan_instagram_tags",
        "minutes": 4,
    },
    {
        # Hourly check; each tenant is scanned every Tenant.tiktok_scan_hours.
        "name": "scan TikTok hashtags of due tenants",
        "func": "integrations.tiktok.tasks.scan_due_tenants",
        "minutes": 60,
    },
    {
        "name": "sync members from the Loyalty Engine",
        "func": "loyalty.tasks.sync_all_members",
        "minutes": 60,
    },
    {
        # A brand owner's user token waits on a login attempt only while they
        # choose an account; whatever an abandoned attempt kept is wiped.
        "name": "forget abandoned login attempts",
        "func": "integrations.meta.login.forget_stale_attempts",
        "minutes": 15,
    },
    {
        "name": "check brand connections",
        "func": "integrations.meta.connections.check_connections",
        "minutes": 24 * 60,
    },
]


def ensure_schedules(**kwargs: Any) -> None:
    """post_migrate receiver: create or update every schedule above."""
    app_config = kwargs.get("app_config")
    if app_config is None or app_config.label != "django_q":
        return
    for spec in SCHEDULES:
        Schedule.objects.update_or_create(
            name=spec["name"],
            defaults={
                "func": spec["func"],
                "schedule_type": Schedule.MINUTES,
                "minutes": spec["minutes"],
                "repeats": -1,
            },
        )
