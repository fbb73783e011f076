"""Django settings, all read from the environment (see README, "Configuration").

Secrets have no production default. ``make run`` writes throwaway development
values to ``var/dev.env``; the test suite sets its own in ``tests/settings.py``.
"""

import re
from pathlib import Path
from typing import Any

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from socialportal.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=False)
SANDBOX = env_bool("SANDBOX", default=False)

SECRET_KEY = env_str("SECRET_KEY")
# Comma-separated Fernet keys; the first encrypts, all of them decrypt, so a key
# can be rotated by putting the new one first and keeping the old one behind it.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
if not ENCRYPTION_KEYS:
    raise ImproperlyConfigured("ENCRYPTION_KEYS must hold at least one Fernet key.")
for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"ENCRYPTION_KEYS: key {_position} is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

META_APP_ID = env_str("META_APP_ID", "")
META_APP_SECRET = env_str("META_APP_SECRET", "")
META_VERIFY_TOKEN = env_str("META_VERIFY_TOKEN", "")
# The emulated dialog accepts any configuration id, so the sandbox has one.
META_LOGIN_CONFIG_ID = env_str(
    "META_LOGIN_CONFIG_ID", "sandbox-login-config" if SANDBOX else ""
)
META_GRAPH_VERSION = env_str("META_GRAPH_VERSION", "v25.0")
if not re.fullmatch(r"v\d+\.\d+", META_GRAPH_VERSION):
    raise ImproperlyConfigured(
        f"META_GRAPH_VERSION must look like v25.0, got {META_GRAPH_VERSION!r}."
    )
# In the sandbox every client talks to the emulators served by this same app.
META_GRAPH_URL = env_url(
    "META_GRAPH_URL",
    f"{PUBLIC_BASE_URL}/sandbox/graph" if SANDBOX else "https://graph.facebook.com",
)
# Where Facebook's login dialog lives: PUBLIC_BASE_URL/sandbox/graph in the
# sandbox (the emulator serves it), else www.facebook.com.
META_LOGIN_DIALOG_URL = env_url(
    "META_LOGIN_DIALOG_URL",
    f"{PUBLIC_BASE_URL}/sandbox/graph" if SANDBOX else "https://www.facebook.com",
)
TIKTOK_CLIENT_KEY = env_str("TIKTOK_CLIENT_KEY", "")
TIKTOK_CLIENT_SECRET = env_str("TIKTOK_CLIENT_SECRET", "")
TIKTOK_API_URL = env_url(
    "TIKTOK_API_URL",
    f"{PUBLIC_BASE_URL}/sandbox/tiktok" if SANDBOX else "https://open.tiktokapis.com",
)
# Which TikTok source the scanner uses (integrations/tiktok/sources.py).
TIKTOK_SOURCE = env_str("TIKTOK_SOURCE", "research")
# Hours after a UTC day starts at which its posts are read: once the day is over,
# and again once the source's 48-hour indexing lag has passed.
_READ_HOURS = env_list("TIKTOK_READ_HOURS", ["24", "72"])
if not _READ_HOURS or not all(h.isdigit() and 1 <= int(h) <= 720 for h in _READ_HOURS):
    raise ImproperlyConfigured("TIKTOK_READ_HOURS must be hours between 1 and 720.")
TIKTOK_READ_HOURS = sorted(int(hours) for hours in _READ_HOURS)
# Plan estimate before any scan has counted a tenant's hashtag posts.
TIKTOK_DEFAULT_DAILY_POSTS = env_int("TIKTOK_DEFAULT_DAILY_POSTS", 1000, minimum=0)
# Unchecked member accounts looked up per scan (to learn private or missing ones).
TIKTOK_HANDLE_CHECKS = env_int("TIKTOK_HANDLE_CHECKS", 10, minimum=0)

# Requests to /connect/ one client address may make per window (seconds). One
# try at connecting costs 3-4 requests (landing, continue, callback, choice):
# the default allows about 15 tries per 10 minutes.
CONNECT_RATE_LIMIT = env_int("CONNECT_RATE_LIMIT", 60, minimum=1)
CONNECT_RATE_WINDOW = env_int("CONNECT_RATE_WINDOW", 600, minimum=1)
# Behind a proxy every request comes from the proxy: trust the last address it
# appended to X-Forwarded-For instead. Only switch on behind such a proxy.
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", default=False)

# Meta's payloads are capped far below this; anything larger is not Meta.
WEBHOOK_MAX_BODY_BYTES = 5 * 1024 * 1024

# The connect pages explain a refused form in their own words; other pages get
# Django's default.
CSRF_FAILURE_VIEW = "integrations.meta.connect_views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_q",
    "socialportal",
    "loyalty",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "socialportal.urls"
WSGI_APPLICATION = "socialportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the django-q2 cluster write to one file; wait for the
    # lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# django-q2 on the ORM broker: its Redis broker drops tasks it cannot deliver.
Q_CLUSTER = {
    "name": "socialportal",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A full member sync of a large tenant pages for minutes; the outbox drain
    # keeps itself to a minute (loyalty.tasks.DRAIN_BUDGET_SECONDS).
    "timeout": 600,
    # A task whose worker died is handed out again after this many seconds
    # (django-q2 requires it to exceed the timeout).
    "retry": 660,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "poll": 0.2,
    "label": "Task queue",
    # The cluster logs every task at INFO; a busy queue would drown the console.
    "log_level": env_str("QUEUE_LOG_LEVEL", "WARNING"),
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "request_line": {"format": "[%(asctime)s] %(message)s"},
    },
    "filters": {
        "redact_query_secrets": {"()": "socialportal.log_filters.RedactQuerySecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_query_secrets"],
        },
        # The development server's request lines, as Django prints them, minus
        # the credentials some providers put in query strings.
        "request_lines": {
            "class": "logging.StreamHandler",
            "formatter": "request_line",
            "filters": ["redact_query_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # urllib3 logs full request URLs at DEBUG, and Graph API URLs carry
        # access tokens in their query string.
        "urllib3": {"level": "WARNING"},
        "django_q": {"level": "WARNING"},
        # Django's own default handler would print its warnings a second time,
        # unfiltered.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {
            "handlers": ["request_lines"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the session must survive the top-level redirect back from
# Facebook's dialog, which binds the login to the browser that started it.
SESSION_COOKIE_SAMESITE = "Lax"

if not DEBUG:
    # A production server is reached over HTTPS only (through the TLS proxy,
    # which says so in X-Forwarded-Proto); a plain-http PUBLIC_BASE_URL is a
    # local trial, where these would lock the operator out.
    _HTTPS = PUBLIC_BASE_URL.startswith("https://")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _HTTPS
    # Load balancers probe over plain http.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = _HTTPS
    CSRF_COOKIE_SECURE = _HTTPS
    SECURE_HSTS_SECONDS = 31_536_000 if _HTTPS else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other hosts of the domain are not ours
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
