"""Settings fail loudly, naming the variable, on a malformed value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def check_with(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        "SECRET_KEY": "x",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_valid_settings_pass_the_check() -> None:
    assert check_with().returncode == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENCRYPTION_KEYS", "bad", "ENCRYPTION_KEYS: key 1 is not a Fernet key"),
        ("ENCRYPTION_KEYS", "", "ENCRYPTION_KEYS must hold at least one"),
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("Q_WORKERS", "two", "Q_WORKERS must be an integer"),
        ("PUBLIC_BASE_URL", "portal.example", "PUBLIC_BASE_URL must be an absolute"),
        ("META_GRAPH_VERSION", "25", "META_GRAPH_VERSION must look like v25.0"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_it(
    variable: str, value: str, message: str
) -> None:
    done = check_with(**{variable: value})

    assert done.returncode != 0
    assert message in done.stderr


def test_a_second_bad_key_is_named_too() -> None:
    good = Fernet.generate_key().decode()

    done = check_with(ENCRYPTION_KEYS=f"{good},not-a-key")

    assert "ENCRYPTION_KEYS: key 2 is not a Fernet key" in done.stderr
