"""The TikTok Research API source: the one place that talks HTTP to TikTok.

A client-credentials token (cached for its two hours, renewed on 401), the
video query and user info. Every request is counted against the daily quota
before it is sent, failed ones included: TikTok charges for 500s too.

# Limitation: the Research API is granted to non-commercial researchers only,
# and its index lags up to 48 hours behind posting; see README.
"""

import logging
import time
from typing import Any

import requests
from django.conf import settings

from integrations.tiktok import quota
from integrations.tiktok.sources import (
    AccountNotFound,
    Page,
    Profile,
    RateLimited,
    SearchExpired,
    SourceUnavailable,
    Video,
    VideoQuery,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 60.0)  # the video query is slow on wide windows
VIDEO_FIELDS = "id,username,create_time,video_description,like_count,comment_count"
USER_FIELDS = (
    "display_name,bio_description,avatar_url,follower_count,following_count,is_private"
)
REQUESTS_PER_DAY = 1000
RECORDS_PER_DAY = 100_000
# 500s are common and a repeat of the same request usually works; each one
# still costs a request, so the retries are few.
MAX_ATTEMPTS = 3
RETRY_PAUSE = 2.0
# Token lifetime is 7200 s; renew a little early so a long page never races it.
TOKEN_MARGIN = 120


class ResearchSource:
    name = "research"
    page_size = 100  # the documented max_count
    # INFERENCE: no documented cap on an IN list; 100 names keeps a body small.
    username_batch = 100
    requests_per_day = REQUESTS_PER_DAY

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self._timeout = timeout
        self._session = requests.Session()
        self._token = ""
        self._token_expires = 0.0
        self.retry_pause = RETRY_PAUSE
        # What this instance spent, for the scan's counters.
        self.stats = {"requests": 0, "records": 0, "retries": 0}

    def __repr__(self) -> str:
        return "<ResearchSource>"  # never the token

    def close(self) -> None:
        self._session.close()

    # Reference: Research API "Query Videos" (research-api-specs-query-videos).
    def query_videos(
        self, query: VideoQuery, cursor: int | None, search_id: str | None
    ) -> Page:
        body: dict[str, Any] = {
            "query": {"and": _conditions(query)},
            "start_date": query.start.strftime("%Y%m%d"),
            "end_date": query.end.strftime("%Y%m%d"),
            "max_count": self.page_size,
            "is_random": False,
        }
        if search_id is not None:
            body["cursor"] = cursor or 0
            body["search_id"] = search_id
        data = self._post("research/video/query/", VIDEO_FIELDS, body, self.page_size)
        return _page(data)

    # Reference: Research API "Query User Info" (research-api-specs-query-user-info).
    def profile(self, username: str) -> Profile:
        data = self._post("research/user/info/", USER_FIELDS, {"username": username}, 1)
        return Profile(
            username=username,
            display_name=str(data.get("display_name") or ""),
            bio=str(data.get("bio_description") or ""),
            avatar_url=str(data.get("avatar_url") or ""),
            follower_count=_int_or_none(data.get("follower_count")),
            following_count=_int_or_none(data.get("following_count")),
            is_private=data.get("is_private") is True,
        )

    # -- HTTP ------------------------------------------------------------------

    def _post(self, path: str, fields: str, body: dict, records: int) -> dict:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._post_once(path, fields, body, records)
            except SourceUnavailable:
                if attempt == MAX_ATTEMPTS:
                    raise
                self.stats["retries"] += 1
                logger.warning("TikTok %s failed, retry %d", path, attempt)
                time.sleep(self.retry_pause)
        raise AssertionError("unreachable")

    def _post_once(self, path: str, fields: str, body: dict, records: int) -> dict:
        token = self._access_token()
        quota.reserve(
            self.name,
            records,
            requests_limit=REQUESTS_PER_DAY,
            records_limit=RECORDS_PER_DAY,
        )
        self.stats["requests"] += 1
        status, answer = self._send(path, fields, body, token)
        if records > 1:
            data = answer.get("data") if isinstance(answer, dict) else None
            videos = data.get("videos") if isinstance(data, dict) else None
            quota.give_back(self.name, records - len(videos or []))
            self.stats["records"] += len(videos or [])
        else:
            self.stats["records"] += records
        if status == 401:
            # Expired early or revoked: the retry fetches a fresh token.
            self._token = ""
            raise SourceUnavailable("access token refused")
        return _decode(path, status, answer)

    def _send(self, path: str, fields: str, body: dict, token: str) -> tuple[int, Any]:
        url = f"{_base()}/v2/{path}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = self._session.post(
                url,
                params={"fields": fields},
                json=body,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            logger.warning(
                "TikTok %s failed in transport: %s", path, type(exc).__name__
            )
            raise SourceUnavailable(type(exc).__name__) from None
        with response:
            try:
                # Python's json keeps integers exact (no float), so ids past
                # 2^53 survive until they are turned into text below.
                return response.status_code, response.json()
            except ValueError:
                # 504s arrive with an HTML body.
                return response.status_code, None

    # Reference: "Client Access Token Management" (client-access-token-management).
    def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        form = {
            "client_key": settings.TIKTOK_CLIENT_KEY,
            "client_secret": settings.TIKTOK_CLIENT_SECRET,
            "grant_type": "client_credentials",
        }
        try:
            response = self._session.post(
                f"{_base()}/v2/oauth/token/", data=form, timeout=self._timeout
            )
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SourceUnavailable(f"token: {type(exc).__name__}") from None
        if response.status_code != 200 or not answer.get("access_token"):
            # OAuth-style error (error, error_description), not the v2 struct.
            logger.warning("TikTok token refused: %s", answer.get("error"))
            raise SourceUnavailable(f"token refused: {answer.get('error')}")
        self._token = answer["access_token"]
        lifetime = _int_or_none(answer.get("expires_in")) or 7200
        self._token_expires = time.monotonic() + lifetime - TOKEN_MARGIN
        return self._token


def _base() -> str:
    return settings.TIKTOK_API_URL.rstrip("/")


def _conditions(query: VideoQuery) -> list[dict[str, Any]]:
    conditions = []
    if query.usernames:
        conditions.append(
            {
                "operation": "IN",
                "field_name": "username",
                "field_values": list(query.usernames),
            }
        )
    conditions.append(
        {
            "operation": "IN",
            "field_name": "hashtag_name",
            "field_values": list(query.hashtags),
        }
    )
    return conditions


# Reference: "Error Handling" (tiktok-api-v2-error-handling).
def _decode(path: str, status: int, answer: Any) -> dict:
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    log = {"code": code, "log_id": (error or {}).get("log_id") if error else None}
    if status == 200 and code == "ok" and isinstance(answer.get("data"), dict):
        return answer["data"]
    logger.warning("TikTok %s answered %s (%s)", path, status, code, extra=log)
    if status == 429 or code == "rate_limit_exceeded":
        quota.mark_exhausted("research")
        raise RateLimited(message or "rate_limit_exceeded")
    if code == "invalid_params" and _is_paging_error(message):
        raise SearchExpired(message)
    if code == "invalid_params" and "user" in message.casefold():
        # INFERENCE: the docs name no error for an unknown username; the
        # observed answer is invalid_params mentioning the user.
        raise AccountNotFound(message)
    if status >= 500 or answer is None:
        raise SourceUnavailable(f"HTTP {status} {code or ''}".strip())
    raise SourceUnavailable(f"HTTP {status} {code}: {message}"[:300])


def _is_paging_error(message: str) -> bool:
    # Observed: "Search Id N is invalid or expired", "Invalid count or cursor".
    folded = message.casefold()
    return "search id" in folded or "cursor" in folded


def _page(data: dict) -> Page:
    videos = [video for item in data.get("videos") or [] if (video := _video(item))]
    cursor = _int_or_none(data.get("cursor"))
    search_id = data.get("search_id")
    return Page(
        videos=videos,
        cursor=cursor,
        search_id=None if search_id is None else str(search_id),
        has_more=data.get("has_more") is True,
    )


def _video(item: Any) -> Video | None:
    if not isinstance(item, dict):
        return None
    # One official example names the id "video_id"; accept both.
    raw_id = item.get("id", item.get("video_id"))
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        return None
    return Video(
        id=str(raw_id),
        # Usernames have been seen carrying NUL characters.
        username=str(item.get("username") or "").replace("\x00", ""),
        caption=str(item.get("video_description") or "").replace("\x00", ""),
        create_time=_int_or_none(item.get("create_time")) or 0,
        like_count=_int_or_none(item.get("like_count")) or 0,
        comment_count=_int_or_none(item.get("comment_count")) or 0,
        raw=item,
    )


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
