"""Production settings switch on HTTPS protections when DEBUG is off."""

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import json; from django.conf import settings as s; print(json.dumps(["
    "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.SECURE_HSTS_SECONDS]))"
)


def _settings_with(**env: str) -> list:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socialportal.settings",
        "SECRET_KEY": "x",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_https_protections_are_on_in_production() -> None:
    values = _settings_with(DEBUG="0", PUBLIC_BASE_URL="https://portal.example")

    assert values == [True, True, True, 31_536_000]


def test_they_stay_off_in_debug() -> None:
    values = _settings_with(DEBUG="1", PUBLIC_BASE_URL="https://portal.example")

    assert values == [False, False, False, 0]
