"""``make run``: set everything up on one machine, sandbox on, and run it.

``python -m socialportal.devrun`` writes throwaway secrets to ``var/dev.env``
once, migrates, loads the demo world, makes an admin login, then runs the web
server and one django-q2 cluster in the foreground until Ctrl-C.

``python -m socialportal.devrun manage COMMAND ...`` runs one ``manage.py``
command with the same environment (e.g. ``sandbox_send_dm`` from another shell).

Variables already in the environment win over ``var/dev.env`` and the defaults
here, so a caller can pass any PORT, BIND_ADDRESS, DATABASE_URL or
PUBLIC_BASE_URL.
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
ENV_FILE = VAR_DIR / "dev.env"
MANAGE = BASE_DIR / "manage.py"
DEMO_WORLD = "integrations/sandbox/demo-world.json"
DM_EXAMPLE = "sandbox_send_dm --tenant acme --from jane.doe --text 'JOIN please'"
# What a `devrun manage` command in another shell must see the same as here.
_SHARED_WITH_MANAGE = ("PORT", "DATABASE_URL", "PUBLIC_BASE_URL")

HEALTH_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10

_ENV_FILE_HEADER = """\
# Throwaway development secrets, written once by `make run`. Remove this file
# only together with var/db.sqlite3: the database's stored secrets are
# encrypted with ENCRYPTION_KEYS below. Never use these values in production.
"""


def generate_dev_secrets() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        # Shaped like the real ones: a numeric app id, a 32-hex-digit secret.
        "META_APP_ID": str(10**15 + secrets.randbelow(9 * 10**15)),
        "META_APP_SECRET": secrets.token_hex(16),
        "META_VERIFY_TOKEN": secrets.token_urlsafe(24),
    }


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; blank lines and ``#`` comments are skipped."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=value")
        values[key.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Create ``path`` readable by its owner only; never overwrite it."""
    lines = [f"{key}={value}" for key, value in values.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(_ENV_FILE_HEADER + "\n".join(lines) + "\n")


def ensure_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_env_file(path, generate_dev_secrets())
        print(f"Wrote development secrets to {path}")
    return read_env_file(path)


def build_environment(
    environ: Mapping[str, str], file_values: Mapping[str, str]
) -> dict[str, str]:
    """Defaults, then ``var/dev.env``, then the caller's environment on top."""
    env = {
        "SANDBOX": "1",
        "DEBUG": "1",
        "PORT": "8000",
        "BIND_ADDRESS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        # Children's output reaches the terminal as it happens, not in blocks.
        "PYTHONUNBUFFERED": "1",
        **file_values,
        **environ,
    }
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    return env


def manage_command(*args: str) -> list[str]:
    return [sys.executable, str(MANAGE), *args]


def local_url(env: Mapping[str, str], path: str) -> str:
    """Where this machine reaches the server it started, whatever it binds to."""
    host = env["BIND_ADDRESS"]
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - mapping "all" to loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{env['PORT']}{path}"


def ensure_admin() -> str | None:
    """Create the superuser "admin" if there is none; return its new password.

    Needs Django set up. The password is returned, never stored anywhere else.
    """
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if (
        users.filter(is_superuser=True).exists()
        or users.filter(username="admin").exists()
    ):
        return None
    password = secrets.token_urlsafe(12)
    users.create_superuser("admin", "", password)
    return password


class Supervisor:
    """Keeps named child processes running together; stops all when one stops."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        # Each child leads its own process group, so a Ctrl-C in the terminal
        # reaches only us and every child gets exactly one stop signal, from
        # us: django-q's cluster can hang when SIGINT and SIGTERM both arrive.
        process = subprocess.Popen(  # noqa: S603 - our own argument list, no shell
            command, env=dict(env), cwd=BASE_DIR, process_group=0
        )
        self.children.append((name, process))

    def exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def wait(self, poll_seconds: float = 0.5) -> int:
        """Until ``stop`` is set (0) or a child exits (non-zero); then stop all."""
        while not self.stop.wait(poll_seconds):
            exited = self.exited()
            if exited is not None and not self.stop.is_set():
                name, code = exited
                print(f"{name} exited with code {code}; stopping the rest.")
                self.terminate_all()
                return code or 1
        self.terminate_all()
        return 0

    def terminate_all(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        for _, process in self.children:
            if process.poll() is None:
                process.terminate()
        for name, process in self.children:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {timeout:g}s; killing it.")
                _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The whole group: django-q's worker processes too, not only their parent.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def wait_until_up(url: str, supervisor: Supervisor, timeout: float) -> bool:
    """True once ``url`` answers at all (any HTTP status means it is serving)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stop.is_set():
        if supervisor.exited() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http URL
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def main(argv: list[str]) -> int:
    if argv[:1] == ["manage"]:
        return run_manage(argv[1:])
    if argv:
        print("usage: python -m socialportal.devrun [manage COMMAND ...]")
        return 2
    return run_all()


def run_manage(args: list[str]) -> int:
    if not ENV_FILE.exists():
        print(f"{ENV_FILE} does not exist yet: start once with `make run`.")
        return 1
    env = build_environment(os.environ, read_env_file(ENV_FILE))
    return _manage(env, *args).returncode


def run_all() -> int:
    VAR_DIR.mkdir(exist_ok=True)
    overrides = [name for name in _SHARED_WITH_MANAGE if name in os.environ]
    env = build_environment(os.environ, ensure_env_file(ENV_FILE))
    os.environ.update(env)  # for the admin check below, in this process

    _step(env, "migrate", "--noinput")
    _step(env, "sandbox_load", DEMO_WORLD)
    password = _admin_password()

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stopper(stop))
    supervisor = Supervisor(stop)
    bind = f"{env['BIND_ADDRESS']}:{env['PORT']}"
    supervisor.start("web server", manage_command("runserver", "--noreload", bind), env)
    health_url = local_url(env, "/healthz")
    if not wait_until_up(health_url, supervisor, HEALTH_TIMEOUT_SECONDS):
        supervisor.terminate_all()
        if stop.is_set():
            return 0
        print(f"The web server did not answer on {bind}; see its output above.")
        return 1

    _sync_members(env)
    supervisor.start("task cluster", manage_command("qcluster"), env)
    _print_banner(env, password, overrides)
    return supervisor.wait()


def _step(env: Mapping[str, str], *args: str) -> None:
    print(f"$ manage.py {' '.join(args)}")
    result = _manage(env, *args)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed (exit {result.returncode}).")


def _manage(
    env: Mapping[str, str], *args: str, quiet: bool = False
) -> subprocess.CompletedProcess[bytes]:
    # An argument list of our own (sys.executable, manage.py, args), no shell.
    return subprocess.run(  # noqa: S603
        manage_command(*args), env=dict(env), cwd=BASE_DIR, capture_output=quiet
    )


def _admin_password() -> str | None:
    import django
    from django.db import connections

    django.setup()
    try:
        return ensure_admin()
    finally:
        # The children open their own connections; SQLite must not stay locked.
        connections.close_all()


def _sync_members(env: Mapping[str, str]) -> None:
    # The member sync reads the Loyalty Engine emulator over HTTP, so it runs
    # once the web server answers. Skipped where the command does not exist.
    probe = _manage(env, "help", "sync_members", quiet=True)
    if probe.returncode != 0:
        print("sync_members is not available; members are not synced.")
        return
    result = _manage(env, "sync_members")
    if result.returncode != 0:
        print(f"sync_members failed (exit {result.returncode}); continuing.")


def _print_banner(
    env: Mapping[str, str], password: str | None, overrides: list[str]
) -> None:
    base = env["PUBLIC_BASE_URL"]
    python = Path(sys.executable)
    if python.is_relative_to(BASE_DIR):
        python = python.relative_to(BASE_DIR)
    if password:
        login = f"admin / {password}  (shown once, stored nowhere)"
    else:
        login = (
            "admin user exists; password was printed on the first run — reset "
            "with `manage.py changepassword admin`"
        )
    print(
        "\nSocial portal is running with the sandbox on.\n"
        f"  Admin:       {base}/admin/\n"
        f"  Login:       {login}\n"
        f"  Send a DM:   {python} -m socialportal.devrun manage {DM_EXAMPLE}\n"
        f'  Events:      curl -H "X-Api-Key: k-acme" {base}/sandbox/loyalty/v1/events\n'
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    if overrides:
        names = ", ".join(overrides)
        print(f"  (Run the DM command with the same {names} as this one.)\n")


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return handle


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
