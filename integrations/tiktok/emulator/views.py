"""The TikTok API emulator (sandbox only): client token, Research video query
and user info, served from the sandbox tables with TikTok's errors.

It counts requests and records per UTC day and answers ``rate_limit_exceeded``
past the quota, and plays scripted faults (``SandboxTikTokState.faults``) one
per video query: 500 (charged, as TikTok does), 429, an expired ``search_id``,
``has_more`` with an empty page. Video ids go out as JSON numbers past 2^53,
as TikTok sends them.
"""

import hashlib
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import (
    SandboxTikTokState,
    SandboxTikTokUser,
    SandboxTikTokVideo,
)

REQUESTS_PER_DAY = 1000
RECORDS_PER_DAY = 100_000
TOKEN_SECONDS = 7200
MAX_WINDOW_DAYS = 30
_SALT = "sandbox-tiktok-token"


class Fault(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Reference: "Client Access Token Management" (client-access-token-management).
@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    form = request.POST
    good = (
        form.get("grant_type") == "client_credentials"
        and form.get("client_key", "") == settings.TIKTOK_CLIENT_KEY
        and form.get("client_secret", "") == settings.TIKTOK_CLIENT_SECRET
    )
    if not good:
        body = {
            "error": "invalid_client",
            "error_description": "Client key or secret is incorrect.",
            "log_id": _log_id(),
        }  # noqa: E501
        return _json(body, 401)
    value = "clt." + signing.dumps({"n": secrets.token_hex(4)}, salt=_SALT)
    return _json(
        {"access_token": value, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}
    )


# Reference: Research API "Query Videos" (research-api-specs-query-videos).
@csrf_exempt
@require_POST
def video_query(request: HttpRequest) -> HttpResponse:
    try:
        _authenticate(request)
        body = _body(request)
        query = _parse_query(body)
        with transaction.atomic():
            fault = _next_fault()
            _charge(1, 0)
        # Raised after the commit: a 500 is charged all the same.
        if fault.get("status") == 500:
            raise Fault(500, "internal_error", "Something went wrong.")
        if fault.get("status") == 429:
            raise Fault(429, "rate_limit_exceeded", "Daily quota exceeded.")
        data = _answer(body, query, fault)
        with transaction.atomic():
            _charge(0, len(data["videos"]))
    except Fault as fault:
        return _error(fault)
    return _json({"data": data, "error": _ok()})


# Reference: Research API "Query User Info" (research-api-specs-query-user-info).
@csrf_exempt
@require_POST
def user_info(request: HttpRequest) -> HttpResponse:
    try:
        _authenticate(request)
        username = str(_body(request).get("username") or "")
        with transaction.atomic():
            _charge(1, 1)
        user = SandboxTikTokUser.objects.filter(username=username).first()
        if user is None:
            # INFERENCE: the docs name no error for an unknown user.
            raise Fault(400, "invalid_params", f"User {username} does not exist")
    except Fault as fault:
        return _error(fault)
    data = {
        "display_name": user.display_name,
        "bio_description": user.bio_description,
        "avatar_url": user.avatar_url,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        # INFERENCE: the newer doc lists is_private; answered with data, not error.
        "is_private": user.is_private,
    }
    return _json({"data": data, "error": _ok()})


# -- checks ------------------------------------------------------------------


def _authenticate(request: HttpRequest) -> None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not value.startswith("clt."):
            raise signing.BadSignature
        signing.loads(value[4:], salt=_SALT, max_age=TOKEN_SECONDS)
    except signing.BadSignature:
        raise Fault(
            401, "access_token_invalid", "The access token is invalid or expired."
        ) from None  # noqa: E501


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise Fault(400, "invalid_params", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Fault(400, "invalid_params", "Request body must be an object")
    return body


def _parse_query(body: dict[str, Any]) -> tuple[Q, date, date]:
    start, end = _day(body.get("start_date")), _day(body.get("end_date"))
    if end < start or end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise Fault(
            400, "invalid_params", "end_date must be within 30 days of start_date"
        )
    count = body.get("max_count", 20)
    if not isinstance(count, int) or not 1 <= count <= 100:
        raise Fault(400, "invalid_params", "Invalid count or cursor")
    conditions = (body.get("query") or {}).get("and") or []
    if not conditions:
        raise Fault(400, "invalid_params", "query must have at least one condition")
    where = Q()
    for condition in conditions:
        where &= _condition(condition)
    return where, start, end


def _condition(condition: Any) -> Q:
    if not isinstance(condition, dict) or condition.get("operation") not in (
        "IN",
        "EQ",
    ):
        raise Fault(400, "invalid_params", "Unsupported condition")
    values = [str(v) for v in condition.get("field_values") or []]
    field = condition.get("field_name")
    if field == "username":
        return Q(username__in=[v.lower() for v in values])
    if field == "hashtag_name":
        # TikTok's matching is fuzzy; the emulator matches tags that start
        # with the value, so "acme" also finds "#acmecoffee" (callers must
        # re-check) and "acmecoffee" finds "#acmecoffee🔥".
        either = Q(pk__in=[])
        for value in values:
            either |= Q(hashtag_index__contains=f"|{value.lower()}")
        return either
    if field == "video_id":
        return Q(video_id__in=values)
    raise Fault(400, "invalid_params", f"Unsupported field_name {field}")


def _day(value: Any) -> date:
    try:
        return datetime.strptime(str(value), "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise Fault(400, "invalid_params", "Dates must be YYYYMMDD") from None


# -- answering ---------------------------------------------------------------


def _answer(body: dict[str, Any], query: tuple[Q, date, date], fault: dict) -> dict:
    where, start, end = query
    search_id = _search_id(body)
    given = body.get("search_id")
    if given is not None and (fault.get("expire_search") or str(given) != search_id):
        raise Fault(400, "invalid_params", f"Search Id {given} is invalid or expired")
    cursor = body.get("cursor", 0) if given is not None else 0
    if not isinstance(cursor, int) or cursor < 0:
        raise Fault(400, "invalid_params", "Invalid count or cursor")

    count = body.get("max_count", 20)
    rows = list(_videos(where, start, end)[cursor : cursor + count + 1])
    has_more = len(rows) > count
    if fault.get("empty_page"):
        # Nothing this time, yet more to come: the same cursor serves it.
        return {
            "videos": [],
            "cursor": cursor,
            "has_more": True,
            "search_id": search_id,
        }
    return {
        "videos": [_video(v) for v in rows[:count]],
        "cursor": cursor + count,
        "has_more": has_more,
        "search_id": search_id,
    }


def _videos(where: Q, start: date, end: date) -> QuerySet[SandboxTikTokVideo]:
    # end_date is read as inclusive (INFERENCE: the sources disagree).
    low = datetime.combine(start, datetime.min.time(), UTC).timestamp()
    high = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    return SandboxTikTokVideo.objects.filter(
        where, create_time__gte=int(low), create_time__lt=int(high.timestamp())
    ).order_by("-video_id")  # all sandbox ids have 19 digits: text order works


def _video(video: SandboxTikTokVideo) -> dict[str, Any]:
    return {
        "id": int(video.video_id),  # a JSON number, as TikTok sends it
        "username": video.username,
        "create_time": video.create_time,
        "video_description": video.video_description,
        "like_count": video.like_count,
        "comment_count": video.comment_count,
        "hashtag_names": [n for n in video.hashtag_index.split("|") if n],
    }


def _search_id(body: dict[str, Any]) -> str:
    """Digits derived from the query and dates: another span is another search."""
    key = json.dumps(
        [body.get("query"), body.get("start_date"), body.get("end_date")],
        sort_keys=True,
    )
    return str(int(hashlib.sha256(key.encode()).hexdigest()[:15], 16))


# -- quota and faults --------------------------------------------------------


def _state() -> SandboxTikTokState:
    state = SandboxTikTokState.objects.select_for_update().first()
    if state is None:
        state = SandboxTikTokState.objects.create()
    today = timezone.now().astimezone(UTC).date()
    if state.day != today:
        state.day, state.requests, state.records = today, 0, 0
        state.save()
    return state


def _next_fault() -> dict:
    state = _state()
    if not state.faults:
        return {}
    fault, state.faults = state.faults[0], state.faults[1:]
    state.save(update_fields=["faults"])
    return fault if isinstance(fault, dict) else {}


def _charge(requests: int, records: int) -> None:
    state = _state()
    if requests and state.requests >= REQUESTS_PER_DAY:
        raise Fault(429, "rate_limit_exceeded", "Daily quota exceeded.")
    if records and state.records + records > RECORDS_PER_DAY:
        raise Fault(429, "rate_limit_exceeded", "Daily record quota exceeded.")
    state.requests += requests
    state.records += records
    state.save(update_fields=["requests", "records"])


def _ok() -> dict[str, str]:
    return {"code": "ok", "message": "", "log_id": _log_id()}


def _error(fault: Fault) -> HttpResponse:
    body = {
        "error": {"code": fault.code, "message": fault.message, "log_id": _log_id()}
    }
    return _json(body, fault.status)


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _log_id() -> str:
    return timezone.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(6).upper()
