"""``make bench``: what one day of TikTok scanning costs for 100,000 members.

Seeds a tenant with 100,000 members and hashtags that see 10,000 posts a day
(50 of them by members) on the emulator, puts the day reads in their steady
state (the day reads the planner schedules for such a tenant, as they fall due),
starts the real server on loopback, and runs ``scan_tiktok`` as the worker
would, in a child process whose peak memory is measured. Figures go to
``var/bench-tiktok.txt``. Every step has a timeout, so it stops by itself, and
its temporary directory is removed when it ends.
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from tests.bench.support import ROOT, free_port, manage, wait_for_health

OUT = ROOT / "var" / "bench-tiktok.txt"
MEMBERS = 100_000
POSTS_PER_DAY = 10_000
MEMBER_POSTS_PER_DAY = 50
REQUEST_TARGET = 1000 // 4
MEMORY_TARGET_MB = 300


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-tiktok-"))
    try:
        _bench(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bench(workdir: Path) -> None:
    port = free_port()
    env = _env(workdir, port)
    os.environ.update(env)
    manage(env, "migrate", "--noinput")
    seeded = _seed()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(port)
        started = time.monotonic()
        output = manage(env, "scan_tiktok", "--tenant", "bench")
        elapsed = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        server.terminate()
        server.wait(timeout=15)
    _write(seeded, output, elapsed, peak_mb)


def _env(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL")
        or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-secret-key",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SANDBOX": "1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "ERROR",
        # TIKTOK_HANDLE_CHECKS keeps its default, so the account checks a scan
        # ends with are measured too. The members are seeded as checked public
        # accounts (the steady state: each was looked up once when it joined,
        # and public ones are not looked up again), so the checks find no
        # account due and cost a query of our database, no request.
    }


def _seed() -> dict[str, int]:
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from integrations.models import (
        SandboxTikTokUser,
        SandboxTikTokVideo,
        TikTokDayRead,
        TrackedHashtag,
    )
    from integrations.tiktok import plans
    from integrations.tiktok.research import ResearchSource
    from loyalty.models import Member, Tenant

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    TrackedHashtag.objects.create(tenant=tenant, hashtag="acmecoffee")
    now = timezone.now()
    Member.objects.bulk_create(
        (
            Member(
                tenant=tenant,
                wll_user_id=f"user-{n}",
                tiktok_handle=f"member{n:06d}",
                tiktok_handle_status="valid",
                tiktok_account_status="public",
                tiktok_checked_at=now,
            )
            for n in range(MEMBERS)
        ),
        batch_size=5000,
    )
    SandboxTikTokUser.objects.bulk_create(
        SandboxTikTokUser(username=f"member{n:06d}") for n in range(MEMBERS)
    )
    today = now.astimezone(UTC).date()
    videos = []
    for back in range(4):
        day = today - timedelta(days=back)
        start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
        for n in range(POSTS_PER_DAY):
            author = (
                f"member{(back * 1000 + n) % MEMBERS:06d}"
                if n < MEMBER_POSTS_PER_DAY
                else f"fan{n:05d}"
            )
            videos.append(
                SandboxTikTokVideo(
                    video_id=str(7450000000000000000 + back * 100_000 + n),
                    username=author,
                    video_description=f"cup {n} #AcmeCoffee",
                    hashtag_index="|acmecoffee|",
                    create_time=start + n * 8,
                )
            )
    SandboxTikTokVideo.objects.bulk_create(videos, batch_size=5000)

    # Days long settled give the planner its estimate of posts per day.
    for back in (5, 4):
        TikTokDayRead.objects.create(
            tenant=tenant,
            day=today - timedelta(days=back),
            reads=len(settings.TIKTOK_READ_HOURS),
            hashtag_posts=POSTS_PER_DAY,
        )
    # The steady state of the schedule the planner picks for this tenant.
    if plans.early_reads_fit(MEMBERS, POSTS_PER_DAY, ResearchSource()):
        # Three days ago had its first read (its members' posts reported) and
        # waits to be settled; two days ago had its first; yesterday's is due.
        _already_reported(tenant, [v for v in videos if v.video_id[-6] == "3"])
        early_reads = ((3, 1), (2, 1))
    else:
        # Each day is read once, when the lag has passed: three days ago now.
        early_reads = ()
    for back, reads in early_reads:
        TikTokDayRead.objects.create(
            tenant=tenant,
            day=today - timedelta(days=back),
            reads=reads,
            hashtag_posts=POSTS_PER_DAY,
        )
    return {"members": MEMBERS, "posts_per_day": POSTS_PER_DAY}


def _already_reported(tenant, videos) -> None:  # type: ignore[no-untyped-def]
    """Three days ago had its first read: its members' posts were reported."""
    from integrations.models import Activity

    Activity.objects.bulk_create(
        Activity(
            tenant=tenant,
            platform="tiktok",
            kind="hashtag_post",
            source_id=video.video_id,
            status="reported",
            occurred_at=datetime.fromtimestamp(video.create_time, UTC),
        )
        for video in videos
        if video.username.startswith("member")
    )


def _write(seeded: dict[str, int], output: str, elapsed: float, peak_mb: float) -> None:
    from django.conf import settings

    from integrations.models import TikTokScan
    from integrations.tiktok import plans
    from integrations.tiktok.research import ResearchSource

    scan = TikTokScan.objects.get(tenant__slug="bench")
    # What the planner decided, from the figures it recorded on the scan.
    early = plans.early_reads_fit(
        scan.counters["members"], scan.counters["daily_posts"], ResearchSource()
    )
    requests = scan.counters.get("requests", 0)
    profiles = scan.counters.get("reported", 0)
    checks = scan.counters.get("accounts_checked", 0) + scan.counters.get(
        "accounts_unreadable", 0
    )
    queries = requests - profiles - checks
    hours = ", ".join(f"{h} h" for h in settings.TIKTOK_READ_HOURS)
    schedule = (
        f"early + complete reads (each day read at {hours} after it starts)"
        if early
        else f"one complete read (each day read once, "
        f"{max(settings.TIKTOK_READ_HOURS)} h after it starts: early reads "
        f"do not fit the tenant's quota share)"
    )
    # The scan does the day's reads; the day's other scans find nothing due
    # and send nothing.
    lines = [
        "TikTok scan of one day, steady state, on the emulator over loopback",
        f"members: {seeded['members']}; hashtag posts per day: "
        f"{seeded['posts_per_day']} ({MEMBER_POSTS_PER_DAY} by members)",
        f"read schedule picked by the planner: {schedule}",
        f"plan: {scan.plan}; estimated requests {scan.estimated_requests}",
        f"video query requests per day: {queries} (target < {REQUEST_TARGET}: "
        f"{'ok' if queries < REQUEST_TARGET else 'MISSED'})",
        f"profile reads per day: {profiles} (one per member with a new post)",
        f"account checks per day: {checks} (TIKTOK_HANDLE_CHECKS="
        f"{settings.TIKTOK_HANDLE_CHECKS}; members seeded as checked public)",
        f"all requests per day: {requests} (target < {REQUEST_TARGET}: "
        f"{'ok' if requests < REQUEST_TARGET else 'MISSED'})",
        f"records per day: {scan.counters.get('records', 0)} (quota 100000)",
        f"worker peak memory: {peak_mb:.0f} MB (target < {MEMORY_TARGET_MB}: "
        f"{'ok' if peak_mb < MEMORY_TARGET_MB else 'MISSED'})",
        f"scan wall time: {elapsed:.1f} s",
        f"scan said: {output}",
    ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
