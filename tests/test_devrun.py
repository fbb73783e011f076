import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model

from socialportal import devrun

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_it_writes_the_env_file_once(tmp_path: Path) -> None:
    # given
    path = tmp_path / "var" / "dev.env"

    # when
    first = devrun.ensure_env_file(path)
    second = devrun.ensure_env_file(path)

    # then
    assert first == second
    assert set(first) == {
        "SECRET_KEY",
        "ENCRYPTION_KEYS",
        "META_APP_ID",
        "META_APP_SECRET",
        "META_VERIFY_TOKEN",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(first["ENCRYPTION_KEYS"].encode())  # a usable key, or this raises
    assert first["META_APP_ID"].isdigit()


def test_fresh_secrets_differ_each_time() -> None:
    assert devrun.generate_dev_secrets() != devrun.generate_dev_secrets()


def test_it_never_overwrites_an_env_file(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("SECRET_KEY=mine\n")

    with pytest.raises(FileExistsError):
        devrun.write_env_file(path, {"SECRET_KEY": "other"})

    assert devrun.read_env_file(path) == {"SECRET_KEY": "mine"}


def test_it_reads_env_files_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("# comment\n\nA=1\nB = two=2 \n")

    assert devrun.read_env_file(path) == {"A": "1", "B": "two=2"}


def test_it_rejects_a_malformed_env_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("A=1\njust words\n")

    with pytest.raises(ValueError, match=r"dev.env:2"):
        devrun.read_env_file(path)


def test_the_callers_environment_wins_over_the_file() -> None:
    env = devrun.build_environment(
        {"SECRET_KEY": "from-env", "SANDBOX": "0"},
        {"SECRET_KEY": "from-file", "META_APP_SECRET": "s"},
    )

    assert env["SECRET_KEY"] == "from-env"
    assert env["SANDBOX"] == "0"
    assert env["META_APP_SECRET"] == "s"


def test_it_defaults_to_the_sandbox_on_port_8000() -> None:
    env = devrun.build_environment({}, {})

    assert env["SANDBOX"] == "1" and env["DEBUG"] == "1"
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert devrun.local_url(env, "/healthz") == "http://127.0.0.1:8000/healthz"


def test_the_public_url_follows_the_port_unless_given() -> None:
    assert (
        devrun.build_environment({"PORT": "8123"}, {})["PUBLIC_BASE_URL"]
        == "http://127.0.0.1:8123"
    )
    given = {"PORT": "8123", "PUBLIC_BASE_URL": "https://demo.example"}
    assert (
        devrun.build_environment(given, {})["PUBLIC_BASE_URL"] == "https://demo.example"
    )


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:9/x"),  # noqa: S104 - the input under test
        ("::", "http://127.0.0.1:9/x"),
        ("::1", "http://[::1]:9/x"),
        ("127.0.0.2", "http://127.0.0.2:9/x"),
    ],
)
def test_it_reaches_the_server_on_loopback(bind: str, url: str) -> None:
    assert devrun.local_url({"BIND_ADDRESS": bind, "PORT": "9"}, "/x") == url


@pytest.mark.django_db
def test_it_creates_the_admin_once() -> None:
    # when
    password = devrun.ensure_admin()
    again = devrun.ensure_admin()

    # then
    admin = get_user_model().objects.get(username="admin")
    assert password and admin.check_password(password)
    assert admin.is_superuser and admin.is_staff
    assert again is None


@pytest.mark.django_db
def test_it_leaves_an_existing_superuser_alone() -> None:
    get_user_model().objects.create_superuser("boss", "", "pw-123456789")

    assert devrun.ensure_admin() is None
    assert not get_user_model().objects.filter(username="admin").exists()


def test_manage_needs_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(devrun, "ENV_FILE", tmp_path / "missing.env")

    assert devrun.main(["manage", "help"]) == 1
    assert "make run" in capsys.readouterr().out


def test_a_dying_child_stops_the_others() -> None:
    # given
    supervisor = devrun.Supervisor(threading.Event())
    supervisor.start("sleeper", SLEEPER, {})
    supervisor.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"], {})

    # when
    code = supervisor.wait(poll_seconds=0.05)

    # then
    assert code == 3
    assert all(process.poll() is not None for _, process in supervisor.children)


def test_stopping_terminates_every_child_and_exits_cleanly() -> None:
    # given
    stop = threading.Event()
    supervisor = devrun.Supervisor(stop)
    supervisor.start("one", SLEEPER, {})
    supervisor.start("two", SLEEPER, {})
    threading.Timer(0.3, stop.set).start()

    # when
    code = supervisor.wait(poll_seconds=0.05)

    # then
    assert code == 0
    assert [process.returncode for _, process in supervisor.children] == [-15, -15]


STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(worker.pid, flush=True)
time.sleep(60)
"""


def test_a_child_ignoring_terminate_is_killed_with_its_workers() -> None:
    # given: a child that ignores SIGTERM and has a worker of its own
    supervisor = devrun.Supervisor(threading.Event())
    stubborn = subprocess.Popen(  # noqa: S603 - a fixed script of ours
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, process_group=0
    )
    supervisor.children.append(("stubborn", stubborn))
    assert stubborn.stdout is not None
    worker_pid = int(stubborn.stdout.readline())

    # when
    started = time.monotonic()
    supervisor.terminate_all(timeout=0.3)

    # then
    assert stubborn.returncode == -9
    assert time.monotonic() - started < 5
    assert not _alive(worker_pid)
    stubborn.stdout.close()


def _alive(pid: int) -> bool:
    # The killed worker lingers as a zombie until init reaps it; give it a moment.
    for _ in range(50):
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except (ProcessLookupError, FileNotFoundError):
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


def test_waiting_for_the_server_gives_up_when_it_dies() -> None:
    supervisor = devrun.Supervisor(threading.Event())
    supervisor.start("crasher", [sys.executable, "-c", "raise SystemExit(1)"], {})

    assert not devrun.wait_until_up("http://127.0.0.1:9/healthz", supervisor, 10)
