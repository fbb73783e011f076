"""Graph API errors as the emulator answers them, in Meta's envelope.

Meta answers these with HTTP 400 and ``{"error": {message, type, code,
error_subcode?, is_transient, fbtrace_id}}``. ``fbtrace_id`` is a fresh random
string per answer, as Meta's are.
"""

import secrets

from django.http import JsonResponse

OAUTH = "OAuthException"
# Meta labels "object does not exist / unsupported request" errors differently.
METHOD = "GraphMethodException"


class GraphFault(Exception):
    """An error the emulator answers with instead of data."""

    def __init__(
        self, code: int, message: str, *, subcode: int | None = None, kind: str = OAUTH
    ) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.message = message
        self.kind = kind

    def as_response(self) -> JsonResponse:
        error: dict[str, object] = {
            "message": self.message,
            "type": self.kind,
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = False
        error["fbtrace_id"] = _fbtrace_id()
        # INFERENCE: 190 is sometimes answered with 401 in the wild; Meta's
        # examples use 400 for all of these, and so do we.
        return JsonResponse({"error": error}, status=400)


def invalid_token() -> GraphFault:
    return GraphFault(190, "Invalid OAuth access token.")


def invalid_proof() -> GraphFault:
    return GraphFault(100, "Invalid appsecret_proof provided in the API argument")


def no_such_object(node_id: str, method: str = "get") -> GraphFault:
    return GraphFault(
        100,
        f"Unsupported {method} request. Object with ID '{node_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this "
        "operation.",
        subcode=33,
        kind=METHOD,
    )


def unknown_field(field: str, node_type: str) -> GraphFault:
    return GraphFault(
        100,
        f"(#100) Tried accessing nonexisting field ({field}) on node type "
        f"({node_type})",
    )


def bad_fields(detail: str) -> GraphFault:
    return GraphFault(100, f"(#100) The fields parameter is malformed: {detail}")


def no_consent() -> GraphFault:
    return GraphFault(230, "User consent is required to access user profile")


def invalid_user_id() -> GraphFault:
    # Business Discovery's answer for personal, private and unknown accounts.
    return GraphFault(110, "Invalid user id", subcode=2207013)


def _fbtrace_id() -> str:
    return secrets.token_urlsafe(9)
