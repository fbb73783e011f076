"""The running stack for end-to-end tests: a fresh database, the demo world,
``runserver`` and a django-q2 cluster, started the way an operator would."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import psycopg
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
WORLD = ROOT / "integrations" / "sandbox" / "demo-world.json"
TIMEOUT = 90


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def get_json(self, path: str, api_key: str) -> dict:
        request = Request(self.base_url + path, headers={"X-Api-Key": api_key})
        with urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.load(response)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    database_url = _fresh_database(tmp_path)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret-key",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "META_APP_ID": "1000000000000009",
        "META_APP_SECRET": "e2e-app-secret",
        "META_VERIFY_TOKEN": "e2e-verify-token",
        "SANDBOX": "1",
        "DEBUG": "1",
        "PUBLIC_BASE_URL": base_url,
        "Q_WORKERS": "2",
    }
    stack = Stack(base_url, env)
    for args in (("migrate", "--noinput"), ("sandbox_load", str(WORLD))):
        done = stack.manage(*args)
        assert done.returncode == 0, done.stdout + done.stderr

    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [
        _start(stack, logs / "web.log", "runserver", "--noreload", f"127.0.0.1:{port}"),
        _start(stack, logs / "cluster.log", "qcluster"),
    ]
    try:
        _wait_for_health(base_url, processes)
        yield stack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        _drop_database(database_url)


def types_of(body: dict) -> list[str]:
    return sorted(event["type"] for event in body["data"])


def attributes_of(body: dict) -> dict:
    user = body.get("data", body)
    return user["profile"].get("attributes", {})


def wait_for(read: Callable[[], Any], expected: int, key: str | None = None) -> Any:
    """Poll ``read`` until it holds ``expected`` items (or has ``key``)."""
    deadline = time.monotonic() + TIMEOUT
    value = read()
    while time.monotonic() < deadline:
        value = read()
        ready = key in value if key else len(value) >= expected
        if ready:
            return value
        time.sleep(0.5)
    pytest.fail(f"Timed out waiting; last seen: {value!r}")


def _start(stack: Stack, log: Path, *args: str) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=stack.env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _wait_for_health(base_url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            pytest.fail("A server process exited during start-up")
        try:
            with urlopen(base_url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("The web server did not become healthy")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database(tmp_path: Path) -> str:
    """A database of its own: the suite's test database is not shared with
    processes started here."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    name = f"socialportal_e2e_{os.getpid()}"
    with psycopg.connect(_admin_url(configured), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(configured)._replace(path=f"/{name}").geturl()


def _drop_database(database_url: str) -> None:
    if not database_url.startswith(("postgres://", "postgresql://")):
        return
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(_admin_url(database_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(database_url: str) -> str:
    return urlsplit(database_url)._replace(path="/postgres").geturl()
