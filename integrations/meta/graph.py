"""The one place that talks HTTP to Meta's Graph API.

Everything else asks ``GraphClient`` for a user profile, a Business Discovery
read, the login code and token exchanges, a person's Pages, a token inspection or
a Page's webhook subscription, and gets back a dict, ``None`` for "no such
business account", or a typed ``GraphError`` carrying Meta's code, subcode and
``fbtrace_id``.

Tokens travel as the ``access_token`` query parameter, so request URLs are never
logged and transport errors are re-raised without the ``requests`` exception
(whose text can quote the URL).
"""

import hashlib
import hmac
import json
import logging
import re
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 15.0)  # (connect, read) seconds

PROFILE_FIELDS = (
    "name,username,profile_pic,follower_count,is_user_follow_business,"
    "is_business_follow_user,is_verified_user"
)
DISCOVERY_FIELDS = (
    "id,username,name,biography,followers_count,follows_count,media_count,"
    "profile_picture_url"
)
# Asked of every media read through an edge. ``permalink``,
# ``media_product_type`` and ``thumbnail_url`` are not documented for
# ``mentioned_media`` (INFERENCE: requested anyway; absence is tolerated).
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,"
    "timestamp,username,like_count,comments_count"
)
COMMENT_FIELDS = (
    "id,text,timestamp,like_count,"
    "media{id,media_type,media_product_type,media_url,thumbnail_url,permalink,"
    "username,timestamp}"
)
TAGS_PAGE_SIZE = 50

# Rate-limit codes from Meta's rate-limiting guide: app, user, page, custom,
# application limit, Page, Instagram account, Messenger.
THROTTLE_CODES = frozenset({4, 17, 32, 613, 341, 80001, 80002, 80006})
# The error-handling guide lists 1 and 2 as temporary: retrying may work.
TRANSIENT_CODES = frozenset({1, 2})
# What /me/accounts is asked for: each Page, its token and its linked IG account.
ACCOUNT_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"
# Pages a person manages are paged; nobody onboarding here manages more.
MAX_ACCOUNT_PAGES = 10
# Instagram usernames: letters, digits, "." and "_", at most 30.
_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
# Media and comment ids are numeric; they are spliced into field expressions.
_NODE_ID = re.compile(r"[0-9]{1,64}")
_USAGE_HEADERS = {
    "X-App-Usage": "app",
    "X-Business-Use-Case-Usage": "business_use_case",
}


class GraphError(Exception):
    """An error answer from the Graph API (Meta's ``{"error": {...}}`` envelope)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        type: str = "",  # Meta's own name for this field
        fbtrace_id: str = "",
        is_transient: bool = False,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.fbtrace_id = fbtrace_id
        self.is_transient = is_transient
        self.http_status = http_status

    def __str__(self) -> str:
        return f"Graph API error {self.code}/{self.subcode}: {self.message}"

    @classmethod
    def from_envelope(
        cls, body: dict[str, Any], http_status: int | None
    ) -> "GraphError":
        """Build the error from a decoded body whose ``error`` key is present."""
        error = body.get("error")
        if not isinstance(error, dict):
            error = {"message": str(error)}
        code = _as_int(error.get("code"))
        return cls(
            str(error.get("message") or "unknown Graph API error"),
            code=code,
            subcode=_as_int(error.get("error_subcode")),
            type=str(error.get("type") or ""),
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            is_transient=error.get("is_transient") is True or code in TRANSIENT_CODES,
            http_status=http_status,
        )

    @property
    def is_token_error(self) -> bool:
        # 190: token invalid, expired or revoked; 102: session invalid.
        return self.code in (190, 102)

    @property
    def is_consent_error(self) -> bool:
        # 230: the user has not messaged the brand, so their profile is closed.
        return self.code == 230

    @property
    def is_throttled(self) -> bool:
        return self.code in THROTTLE_CODES

    @property
    def is_not_found_user(self) -> bool:
        # Business Discovery answers this for personal, private and unknown
        # accounts alike: Meta does not say which.
        return self.code == 110 and self.subcode == 2207013


class GraphTransportError(GraphError):
    """No usable Graph answer: timeout, connection failure or a non-JSON reply."""


class GraphClient:
    """Graph API calls made with one access token (a Page, user or app token).

    Without a token (``GraphClient(None)``) only the OAuth exchanges, which carry
    the app's credentials instead, make sense.
    """

    def __init__(
        self,
        access_token: str | None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._access_token = access_token
        self._timeout = timeout
        self.last_usage: dict[str, Any] = {}

    @classmethod
    def for_app(cls) -> "GraphClient":
        """A client holding the app access token ``{app-id}|{app-secret}``."""
        return cls(f"{settings.META_APP_ID}|{settings.META_APP_SECRET}")

    def __repr__(self) -> str:
        return "<GraphClient>"  # never the token

    @property
    def base_url(self) -> str:
        return f"{settings.META_GRAPH_URL.rstrip('/')}/{settings.META_GRAPH_VERSION}"

    # Reference: Instagram Messaging "User Profile" (GET /{IGSID}).
    def user_profile(self, igsid: str) -> dict[str, Any]:
        return self.get(igsid, {"fields": PROFILE_FIELDS})

    # Reference: IG User "business_discovery" (GET /{ig-user-id}?fields=...).
    def business_discovery(
        self, ig_user_id: str, username: str
    ) -> dict[str, Any] | None:
        """The business or creator account ``username``, or None if there is none."""
        if not _USERNAME.fullmatch(username):
            # Such a name cannot exist on Instagram, and would break the field
            # expression it is spliced into.
            logger.info("Skipping Business Discovery for an impossible username")
            return None

        fields = f"business_discovery.username({username}){{{DISCOVERY_FIELDS}}}"
        try:
            body = self.get(ig_user_id, {"fields": fields})
        except GraphError as error:
            if error.is_not_found_user:
                return None
            raise

        discovered = body.get("business_discovery")
        return discovered if isinstance(discovered, dict) else None

    # Reference: Facebook Login, "Manually Build a Login Flow" (code exchange).
    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """``{access_token, token_type, expires_in}`` for a dialog's ``code``."""
        return self._oauth({"code": code, "redirect_uri": redirect_uri})

    # Reference: Access Tokens, "Get Long-Lived Tokens".
    def exchange_long_lived(self, short_token: str) -> dict[str, Any]:
        """A ~60-day user token for a short-lived one."""
        params = {"grant_type": "fb_exchange_token", "fb_exchange_token": short_token}
        return self._oauth(params)

    # Reference: Graph API "User Accounts" (GET /me/accounts).
    def accounts(self) -> list[dict[str, Any]]:
        """The person's Pages with their tokens and linked IG accounts."""
        pages: list[dict[str, Any]] = []
        params: dict[str, Any] = {"fields": ACCOUNT_FIELDS, "limit": 100}
        for _ in range(MAX_ACCOUNT_PAGES):
            body = self.get("me/accounts", params)
            pages += [page for page in body.get("data", []) if isinstance(page, dict)]
            after = (body.get("paging") or {}).get("cursors", {}).get("after")
            if not (body.get("paging") or {}).get("next") or not after:
                break
            params = {**params, "after": after}
        return pages

    # Reference: Graph API "Debug Token" (GET /debug_token), with an app token.
    def debug_token(self, input_token: str) -> dict[str, Any]:
        body = self.get("debug_token", {"input_token": input_token})
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    # Reference: Graph API "Page Subscribed Apps" (GET /{page-id}/subscribed_apps).
    def subscribed_fields(self, page_id: str) -> list[str]:
        """The fields this app is subscribed to on the Page ([] if not installed)."""
        body = self.get(f"{page_id}/subscribed_apps")
        for app in body.get("data", []):
            if isinstance(app, dict) and str(app.get("id")) == settings.META_APP_ID:
                fields = app.get("subscribed_fields") or []
                return [str(name) for name in fields]
        return []

    # Reference: Graph API "Page Subscribed Apps" (POST /{page-id}/subscribed_apps).
    def subscribe(self, page_id: str, fields: list[str]) -> bool:
        body = self.post(
            f"{page_id}/subscribed_apps", {"subscribed_fields": ",".join(fields)}
        )
        return body.get("success") is True

    # Reference: IG User "mentioned_media" (GET /{ig-user-id}?fields=...).
    def mentioned_media(self, ig_user_id: str, media_id: str) -> dict[str, Any]:
        """Media whose caption @mentions the brand, read through the brand."""
        _check_node_id(media_id)
        fields = f"mentioned_media.media_id({media_id}){{{MEDIA_FIELDS}}}"
        return _nested(self.get(ig_user_id, {"fields": fields}), "mentioned_media")

    # Reference: IG User "mentioned_comment" (GET /{ig-user-id}?fields=...).
    def mentioned_comment(self, ig_user_id: str, comment_id: str) -> dict[str, Any]:
        """A comment that @mentions the brand. Meta documents no author field."""
        _check_node_id(comment_id)
        fields = f"mentioned_comment.comment_id({comment_id}){{{COMMENT_FIELDS}}}"
        return _nested(self.get(ig_user_id, {"fields": fields}), "mentioned_comment")

    # Reference: IG User "tags" (GET /{ig-user-id}/tags).
    def tags(
        self, ig_user_id: str, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of media the brand is tagged in, and the ``after`` cursor.

        The edge gives cursors but no ``next`` link, so the caller pages by
        passing the cursor back; None means there is no further page.
        """
        params: dict[str, Any] = {"fields": MEDIA_FIELDS, "limit": TAGS_PAGE_SIZE}
        if after:
            params["after"] = after
        return tags_page(self.get(f"{ig_user_id}/tags", params))

    # Reference: Graph API overview, "Versions" and "Error handling".
    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` under the pinned version; the decoded JSON object."""
        status, headers, body = self._fetch("GET", path, params or {})
        self.last_usage = _parse_usage(headers)
        return self._decode(path, status, body)

    def post(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST ``params`` as a form to ``path``; the decoded JSON object."""
        status, headers, body = self._fetch("POST", path, params)
        self.last_usage = _parse_usage(headers)
        return self._decode(path, status, body)

    def _oauth(self, params: dict[str, Any]) -> dict[str, Any]:
        # The app's own credentials authenticate these, not an access token.
        query = {
            **params,
            "client_id": settings.META_APP_ID,
            "client_secret": settings.META_APP_SECRET,
        }
        path = "oauth/access_token"
        status, _, body = self._fetch("GET", path, query, with_token=False)
        return self._decode(path, status, body)

    def _fetch(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        with_token: bool = True,
    ) -> tuple[int, Any, Any]:
        """Status, headers and decoded body (None if not JSON) of one call."""
        url = f"{self.base_url}/{_quote_path(path)}"
        query = {**params, **(self._auth_params() if with_token else {})}
        as_query: dict[str, Any] = (
            {"params": query} if method == "GET" else {"data": query}
        )
        try:
            response = requests.request(method, url, timeout=self._timeout, **as_query)
        except requests.RequestException as exc:
            raise self._transport_error(path, exc) from None

        # Only plain values leave this frame: a response kept alive by an
        # error's traceback would hold its keep-alive socket open too.
        with response:
            try:
                body = response.json()
            except ValueError:
                body = None
            return response.status_code, response.headers, body

    def _auth_params(self) -> dict[str, str]:
        if not self._access_token:
            return {}
        params = {"access_token": self._access_token}
        # An app token already is the secret; the proof is for user/Page tokens.
        if settings.META_APP_SECRET and "|" not in self._access_token:
            params["appsecret_proof"] = appsecret_proof(
                self._access_token, settings.META_APP_SECRET
            )
        return params

    def _transport_error(self, path: str, exc: Exception) -> GraphTransportError:
        # The exception text can quote the URL and so the token: keep its name only.
        kind = type(exc).__name__
        logger.warning(
            "Graph API call %s failed in transport: %s", _log_path(path), kind
        )
        return GraphTransportError(f"{kind} calling the Graph API", is_transient=True)

    def _decode(self, path: str, status: int, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and "error" in body:
            error = GraphError.from_envelope(body, status)
            logger.warning(
                "Graph API %s answered %s: code=%s subcode=%s fbtrace_id=%s",
                _log_path(path),
                status,
                error.code,
                error.subcode,
                error.fbtrace_id,
            )
            raise error

        if not isinstance(body, dict) or status >= 400:
            logger.warning(
                "Graph API %s gave an unreadable %s", _log_path(path), status
            )
            raise GraphTransportError(
                f"unexpected Graph API reply (HTTP {status})",
                http_status=status,
                is_transient=status >= 500 or status == 429,
            )
        return body


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret, as lowercase hex."""
    return hmac.new(
        app_secret.encode(), access_token.encode(), hashlib.sha256
    ).hexdigest()


def _parse_usage(headers: Any) -> dict[str, Any]:
    """Usage headers (percent of the limit) by short name; malformed ones skipped."""
    usage: dict[str, Any] = {}
    for header, key in _USAGE_HEADERS.items():
        raw = headers.get(header)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            logger.warning("Ignoring a malformed %s header", header)
            continue
        if isinstance(value, dict):
            usage[key] = value
        else:
            logger.warning("Ignoring a %s header that is not an object", header)
    return usage


def tags_page(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """A ``tags`` answer's media and its ``after`` cursor (None on the last page)."""
    data = [item for item in body.get("data") or [] if isinstance(item, dict)]
    paging = _as_dict(body.get("paging"))
    cursor = _as_dict(paging.get("cursors")).get("after")
    return data, (str(cursor) if data and cursor else None)


def _check_node_id(node_id: str) -> None:
    if not _NODE_ID.fullmatch(node_id):
        raise ValueError("Graph node ids are numeric")


def _nested(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise GraphTransportError(f"the Graph API answer has no {key}")
    return value


def _quote_path(path: str) -> str:
    # Node ids come from webhook payloads: quote each segment so one can never
    # climb out of the versioned prefix or smuggle a query string in.
    segments = path.strip("/").split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError("Graph API path has an empty or relative segment")
    return "/".join(quote(segment, safe="") for segment in segments)


def _log_path(path: str) -> str:
    return "/" + path.strip("/")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
