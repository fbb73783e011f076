"""The Loyalty Engine (WLL) API client: the only module that talks HTTP to WLL.

Every call carries the tenant's ``X-Api-Key`` and an admin token obtained by the
client-credentials grant. Errors come back as three kinds the outbox can act on:
retry later (429, 5xx, network), give up (any other 4xx), or "not found".

Each API function names the WLL documentation it follows ("WLL docs: …" for
pages of its knowledge base, "WLL OpenAPI" for the document it publishes).
"""

import hashlib
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import requests
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from loyalty.models import Tenant

logger = logging.getLogger(__name__)

TIMEOUT = (5, 20)  # (connect, read) seconds
# WLL asks clients to reuse admin tokens (24 h); renew a little before expiry.
TOKEN_RENEW_MARGIN = 300
RETRY_AFTER_CAP = 30.0
GET_RETRIES = 3
GET_BACKOFF_FACTOR = 0.5  # urllib3 sleeps 0, 1, 2 s between inline GET retries
REASON_MAX_CHARS = 300
# A rejection decided here, before anything was sent.
LOCAL_STATUS = 0

# EventDefinition in WLL's OpenAPI: UPPER_SNAKE, 2-64 chars, no digits.
_EVENT_TYPE = re.compile(r"[A-Z]+(_[A-Z]+)*")
_RETRYABLE_STATUSES = (429, 500, 502, 503, 504)


class LoyaltyError(Exception):
    """Anything that kept a Loyalty Engine call from succeeding."""


class LoyaltyRetryableError(LoyaltyError):
    """Worth trying again later: 429, 5xx, a network error or a timeout.

    ``maybe_delivered`` says the request may have reached WLL and been acted on
    (a write that timed out waiting for the answer, or a 5xx after it): sending
    it again blindly could report an event twice.
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class LoyaltyRejectedError(LoyaltyError):
    """WLL (or our own check before sending) refused the request for good."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class LoyaltyNotFoundError(LoyaltyRejectedError):
    """404: the user (or event subject) does not exist in that tenant."""


def format_occurred_at(dt: datetime) -> str:
    """UTC with milliseconds and ``Z``: WLL's occurredAt pattern needs a fraction
    after the seconds, so ``...:00Z`` would be refused (WLL docs: events)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware")
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now; it may be a number or an HTTP date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _get_retry() -> Retry:
    """Inline retries for reads only: a POST or PATCH is retried by the outbox,
    which remembers attempts across crashes."""
    return Retry(
        total=GET_RETRIES,
        backoff_factor=GET_BACKOFF_FACTOR,
        status_forcelist=_RETRYABLE_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        retry_after_max=int(RETRY_AFTER_CAP),
        raise_on_status=False,
    )


def _session(retry: Retry | int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class LoyaltyClient:
    """One tenant's view of the Loyalty Engine API."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.base_url = tenant.api_base_url.rstrip("/")
        self._reads = _session(_get_retry())
        self._writes = _session(0)

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    # -- API ---------------------------------------------------------------

    def report_event(
        self, type: str, subject: str, payload: dict, occurred_at: datetime
    ) -> dict:
        # WLL OpenAPI EventController.create (POST /events/).
        _check_event(type, subject)
        body = {
            "type": type,
            "subject": subject,
            "payload": payload,
            "occurredAt": format_occurred_at(occurred_at),
        }
        return _unwrap_object(self._call("POST", "/events", json=body))

    def find_event(self, type: str, subject: str, occurred_at: datetime) -> dict | None:
        """The event already reported with this type, subject and time, if any.

        Used before re-sending an event whose first send may have arrived. Our
        ``occurredAt`` carries milliseconds, so with type and subject it names
        one event. INFERENCE: ``GET /events`` declares no query parameters in
        WLL's OpenAPI (EventListParams is an untyped object); we pass
        ``subject`` and also check it on every row in case it is ignored.
        """
        # WLL OpenAPI EventController.list (GET /events/).
        params = {"subject": subject, "order": "DESC", "limit": 1000}
        wanted = format_occurred_at(occurred_at)
        for event in _unwrap_list(self._call("GET", "/events", params=params)):
            if (
                event.get("type") == type
                and event.get("subject") == subject
                and event.get("occurredAt") == wanted
            ):
                return event
        return None

    def get_user(self, user_id: str) -> dict:
        # WLL OpenAPI UserController.retrieve (GET /users/{id}).
        return _unwrap_object(self._call("GET", _user_path(user_id)))

    def list_users(self, limit: int, skip: int) -> list[dict]:
        # WLL OpenAPI UserController.list; `order` is required there.
        params = {"limit": limit, "skip": skip, "order": "ASC"}
        return _unwrap_list(self._call("GET", "/users", params=params))

    def patch_attributes(self, user_id: str, attributes: dict) -> dict:
        """Merge ``attributes`` into the user's ``profile.attributes``.

        WLL does not document whether PATCH merges the attributes object or
        replaces it (WLL docs: users), so we read
        the user first and
        send the whole merged object.
        Limitation: a change the member makes between our GET and PATCH is lost.
        """
        # WLL OpenAPI UserController.update (PATCH /users/{id}, UserPatch).
        user = self.get_user(user_id)
        current = (user.get("profile") or {}).get("attributes") or {}
        merged = {**current, **attributes}
        body = {"profile": {"attributes": merged}}
        return _unwrap_object(self._call("PATCH", _user_path(user_id), json=body))

    # -- plumbing ----------------------------------------------------------

    def _call(
        self, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> Any:
        response = self._send(method, path, json, params, self._token())

        # INFERENCE (WLL docs: admin access): a 401 may mean our cached token was
        # revoked or expired early; mint a fresh one and try exactly once more.
        if response.status_code == 401:
            cache.delete(self._token_cache_key())
            response = self._send(method, path, json, params, self._token())

        return self._decode(response, method, path)

    def _send(
        self, method: str, path: str, json: Any, params: Any, token: str
    ) -> requests.Response:
        session = self._reads if method == "GET" else self._writes
        headers = {
            "X-Api-Key": self.tenant.api_key,
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        try:
            return session.request(
                method,
                self.base_url + path,
                headers=headers,
                json=json,
                params=params,
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise LoyaltyRetryableError(
                f"{method} {path}: {type(exc).__name__}",
                maybe_delivered=method != "GET" and not _never_connected(exc),
            ) from exc

    def _decode(self, response: requests.Response, method: str, path: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            return _json_or_empty(response)

        if status in _RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise LoyaltyRetryableError(
                f"{method} {path}: HTTP {status}",
                retry_after,
                # A 5xx may come from a proxy after the backend acted; a 429
                # means the request was turned away before it was looked at.
                maybe_delivered=method != "GET" and status >= 500,
            )

        reason = self._reason(response)
        logger.warning(
            "Loyalty Engine refused %s %s with HTTP %s",
            method,
            path,
            status,
            extra={"tenant": self.tenant.slug},
        )
        if status == 404:
            raise LoyaltyNotFoundError(status, reason)
        raise LoyaltyRejectedError(status, reason)

    def _reason(self, response: requests.Response) -> str:
        """A short message from the error body. WLL's error shape is undocumented
        (WLL docs: events), so look for the usual keys and fall back to the text."""
        phrase = _phrase(response.status_code)
        body = _json_or_empty(response)
        message = ""
        if isinstance(body, dict):
            for key in ("message", "error_description", "detail", "error"):
                if body.get(key):
                    value = body[key]
                    message = (
                        "; ".join(map(str, value))
                        if isinstance(value, list)
                        else str(value)
                    )
                    break
        if not message:
            message = response.text.strip()
        text = f"{phrase}: {message}" if message else phrase
        return self._redact(text)[:REASON_MAX_CHARS]

    def _redact(self, text: str) -> str:
        secrets = (self.tenant.api_key, self.tenant.client_secret)
        for secret in filter(None, secrets):
            text = text.replace(secret, "[redacted]")
        return text

    # -- admin token -------------------------------------------------------

    def _token_cache_key(self) -> str:
        # Hashed so the key is cache-safe whatever the id looks like; the secret
        # is never part of it.
        ident = f"{self.tenant.token_url}|{self.tenant.client_id}|"
        ident += self.tenant.token_audience
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"loyalty:admin-token:{self.tenant.pk}:{digest}"

    def _token(self) -> str:
        key = self._token_cache_key()
        token = cache.get(key)
        if token:
            return token

        token, lifetime = self._fetch_token()
        if lifetime > TOKEN_RENEW_MARGIN:
            cache.set(key, token, timeout=lifetime - TOKEN_RENEW_MARGIN)
        return token

    def _fetch_token(self) -> tuple[str, int]:
        # WLL docs: admin token: client credentials, JSON.
        if not (self.tenant.client_id and self.tenant.client_secret):
            raise LoyaltyRejectedError(LOCAL_STATUS, "tenant has no client id/secret")
        body = {
            "client_id": self.tenant.client_id,
            "client_secret": self.tenant.client_secret,
            "audience": self.tenant.token_audience,
            "grant_type": "client_credentials",
        }
        try:
            response = self._writes.post(
                self.tenant.token_url, json=body, timeout=TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise LoyaltyRetryableError(f"token: {type(exc).__name__}") from exc

        data = self._decode(response, "POST", "/oauth/token")
        if not isinstance(data, dict) or not data.get("access_token"):
            raise LoyaltyError("token endpoint answered without an access_token")
        return str(data["access_token"]), int(data.get("expires_in") or 0)


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether the request certainly never reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", None), NewConnectionError)


def _check_event(type: str, subject: str) -> None:
    if not (2 <= len(type) <= 64 and _EVENT_TYPE.fullmatch(type)):
        raise LoyaltyRejectedError(LOCAL_STATUS, f"invalid event type {type[:64]!r}")
    if not 1 <= len(subject) <= 128:
        raise LoyaltyRejectedError(LOCAL_STATUS, "subject must be 1-128 characters")


def _user_path(user_id: str) -> str:
    return "/users/" + quote(user_id, safe="")


def _json_or_empty(response: requests.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {}


def _unwrap_object(body: Any) -> dict:
    # INFERENCE (WLL docs: events): single objects may or may not come wrapped in
    # {"data": ...}; accept both.
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    if isinstance(body, dict):
        return body
    raise LoyaltyError(f"expected a JSON object, got {type(body).__name__}")


def _unwrap_list(body: Any) -> list[dict]:
    # FACT (WLL TypeScript SDK docs): lists come as {"data": [...]}.
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    if isinstance(body, list):
        return body
    raise LoyaltyError("expected a list under 'data'")


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
