"""``make bench``: Meta webhook ingest against a bare Django view, in one run.

Starts the app under gunicorn on loopback (PostgreSQL when one is reachable on
127.0.0.1, as in production; SQLite otherwise, said so in the figures), then
sends rounds of requests, alternately, to ``/healthz`` (a bare view: one query, no
write) and to ``/webhooks/meta/`` (signature check, stored delivery, queued
task; each body a signed real-shaped DM with its own message id). Both runs
use the same client and concurrency, so their ratio is what the webhook costs
over a bare view. Figures go to ``var/bench-ingest.txt``. Every step is bounded
and the server is stopped at the end.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

from cryptography.fernet import Fernet

from tests.bench.support import ROOT, free_port, manage, wait_for_health

OUT = ROOT / "var" / "bench-ingest.txt"
WORLD = ROOT / "integrations" / "sandbox" / "demo-world.json"
REQUESTS = 1000
ROUNDS = 3
CONCURRENCY = 16
WORKERS = 2
THREADS = 4
APP_SECRET = "bench-app-secret"
# The share of a bare view's throughput the webhook should keep.
TARGET_RATIO = 0.5


def main() -> None:
    database_url, label, cleanup = _database()
    port = free_port()
    env = _env(database_url, port)
    try:
        for args in (("migrate", "--noinput"), ("sandbox_load", str(WORLD))):
            manage(env, *args)
        server = _gunicorn(env, port)
        try:
            wait_for_health(port)
            brand = _brand_id()
            # Alternating rounds, so a load elsewhere on the machine weighs on
            # both sides alike; the medians are compared.
            bare_rounds, ingest_rounds = [], []
            for round_ in range(ROUNDS):
                bare_rounds.append(
                    _measure(port, lambda n: ("GET", "/healthz", b"", {}))
                )
                offset = round_ * REQUESTS
                ingest_rounds.append(
                    _measure(port, lambda n, at=offset: _signed_dm(brand, at + n))
                )
            bare, ingest = _median(bare_rounds), _median(ingest_rounds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        cleanup()
    _write(label, bare, ingest)


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def _measure(port: int, request: Callable[[int], tuple]) -> dict[str, float]:
    """Requests per second and latency percentiles for REQUESTS requests."""
    per_thread = REQUESTS // CONCURRENCY

    def run(thread: int) -> list[float]:
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for n in range(per_thread):
            method, path, body, headers = request(thread * per_thread + n)
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
            latencies.append(time.perf_counter() - started)
        connection.close()
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        latencies = [x for batch in pool.map(run, range(CONCURRENCY)) for x in batch]
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def _signed_dm(brand: str, n: int) -> tuple[str, str, bytes, dict[str, str]]:
    from integrations.meta.signatures import sign

    payload = {
        "object": "instagram",
        "entry": [
            {
                "time": 1764579600123,
                "id": brand,
                "messaging": [
                    {
                        "sender": {"id": "6100000000000001"},
                        "recipient": {"id": brand},
                        "timestamp": 1764579600000,
                        "message": {"mid": f"aWdfYmVuY2g6{n:08d}", "text": "JOIN"},
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(body, APP_SECRET),
    }
    return "POST", "/webhooks/meta/", body, headers


def _database() -> tuple[str, str, Callable[[], None]]:
    """A fresh PostgreSQL database if the local server answers, else SQLite."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))

    def remove_workdir() -> None:
        shutil.rmtree(workdir, ignore_errors=True)

    try:
        import psycopg

        name = f"socialportal_bench_{os.getpid()}"
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as db:
            db.execute(f'CREATE DATABASE "{name}"')
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return f"sqlite:///{workdir / 'bench.sqlite3'}", "SQLite", remove_workdir

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        remove_workdir()

    return f"postgresql://postgres@127.0.0.1:5432/{name}", "PostgreSQL", drop


def _env(database_url: str, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret-key",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "META_APP_SECRET": APP_SECRET,
        "SANDBOX": "1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(env)
    return env


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "socialportal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _brand_id() -> str:
    import django

    django.setup()
    from integrations.models import BrandConnection

    return BrandConnection.objects.order_by("pk").values_list("ig_user_id", flat=True)[
        0
    ]


def _write(label: str, bare: dict[str, float], ingest: dict[str, float]) -> None:
    ratio = ingest["rps"] / bare["rps"]
    verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
    lines = [
        f"Meta webhook ingest vs a bare view, gunicorn ({WORKERS} workers x "
        f"{THREADS} threads), {label}",
        f"{ROUNDS} alternating rounds of {REQUESTS} requests each, "
        f"{CONCURRENCY} concurrent keep-alive clients; medians",
        f"bare view /healthz: {bare['rps']:.0f} req/s, p50 {bare['p50_ms']:.1f} ms, "
        f"p95 {bare['p95_ms']:.1f} ms",
        f"webhook /webhooks/meta/: {ingest['rps']:.0f} req/s, "
        f"p50 {ingest['p50_ms']:.1f} ms, p95 {ingest['p95_ms']:.1f} ms",
        f"ratio webhook/bare: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})",
    ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
