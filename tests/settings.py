"""Settings for the test suite: the real settings, fed test values.

The database comes from ``DATABASE_URL`` when set (CI points it at PostgreSQL),
else SQLite.
"""

import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("META_APP_ID", "1000000000000001")
os.environ.setdefault("META_APP_SECRET", "test-app-secret")
os.environ.setdefault("META_VERIFY_TOKEN", "test-verify-token")
os.environ.setdefault("SANDBOX", "1")
os.environ.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

from socialportal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Live-server threads would otherwise keep their connections open after the
# suite, and PostgreSQL refuses to drop a test database that is still in use.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
