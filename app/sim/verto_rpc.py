"""Verto's JSON-RPC 2.0 messages as mod_verto (FreeSWITCH 1.10) sends and expects them: pure functions.

Client requests carry ``params.sessid``; call requests carry ``params.dialogParams.callID``, which mod_verto
uses as the channel uuid. Server-to-client requests (``verto.media``, ``verto.answer``, ``verto.bye``) carry
their own id and are acknowledged by the client with ``{"result": {"method": <name>}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# mod_verto's error codes (CODE_* in mod_verto.h).
CODE_INVALID = -32600
CODE_AUTH_REQUIRED = -32000
CODE_AUTH_FAILED = -32001
CODE_SESSION_ERROR = -32002
CODE_METHOD_NOT_FOUND = -32601

CLEARING_CODE = 16
"""Q.850 cause code of NORMAL_CLEARING."""

CAUSE_CODES = {"NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_ANSWER": 19, "CALL_REJECTED": 21}


class VertoProtocolError(ValueError):
    """A message that is not a usable JSON-RPC 2.0 request or response."""


@dataclass(frozen=True)
class Request:
    """A JSON-RPC request (or notification when ``id`` is None)."""

    method: str
    params: dict[str, Any]
    id: int | str | None

    @property
    def sessid(self) -> str:
        return str(self.params.get("sessid") or "")

    @property
    def dialog(self) -> dict[str, Any]:
        dialog = self.params.get("dialogParams")
        return dialog if isinstance(dialog, dict) else {}

    @property
    def call_id(self) -> str:
        return str(self.dialog.get("callID") or self.params.get("callID") or "")


@dataclass(frozen=True)
class Response:
    """A JSON-RPC response to a request the server sent."""

    id: int | str | None
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None


def parse(text: str) -> Request | Response:
    """Parse one WebSocket text frame."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        raise VertoProtocolError(f"not JSON: {error}") from error
    except RecursionError:  # json.loads recurses once per level of nesting
        raise VertoProtocolError("JSON nested too deeply") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise VertoProtocolError("not a JSON-RPC 2.0 object")
    if "method" in message:
        params = message.get("params") or {}
        if not isinstance(params, dict):
            raise VertoProtocolError("params must be an object")
        return Request(str(message["method"]), params, message.get("id"))
    if "result" in message or "error" in message:
        result = message.get("result")
        return Response(message.get("id"), result if isinstance(result, dict) else {}, message.get("error"))
    raise VertoProtocolError("neither a request nor a response")


def result(request_id: int | str | None, body: dict[str, Any]) -> str:
    """A success response."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": body})


def error(request_id: int | str | None, code: int, message: str) -> str:
    """An error response (mod_verto's codes and wording)."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})


def request(request_id: int, method: str, params: dict[str, Any]) -> str:
    """A server-to-client request."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


def login_ok(request_id: int | str | None, sessid: str) -> str:
    return result(request_id, {"message": "logged in", "sessid": sessid})


def client_ready(request_id: int, sessid: str) -> str:
    """Sent after a successful login (no reattached calls here)."""
    return request(request_id, "verto.clientReady", {"reattached_sessions": [], "sessid": sessid})


def call_created(request_id: int | str | None, call_id: str, sessid: str) -> str:
    return result(request_id, {"callID": call_id, "message": "CALL CREATED", "sessid": sessid})


def call_ended(request_id: int | str | None, call_id: str, sessid: str, cause: str) -> str:
    return result(
        request_id,
        {
            "callID": call_id,
            "message": "CALL ENDED",
            "causeCode": CAUSE_CODES.get(cause, CLEARING_CODE),
            "cause": cause,
            "sessid": sessid,
        },
    )


def info_sent(request_id: int | str | None, sessid: str) -> str:
    return result(request_id, {"message": "SENT", "sessid": sessid})


def media(request_id: int, call_id: str, sdp: str) -> str:
    """Early media: the answer SDP before the call is answered."""
    return request(request_id, "verto.media", {"callID": call_id, "sdp": sdp})


def answer(request_id: int, call_id: str, sdp: str | None) -> str:
    """The call is answered (the SDP is left out when ``verto.media`` already carried it)."""
    params: dict[str, Any] = {"callID": call_id}
    if sdp is not None:
        params["sdp"] = sdp
    return request(request_id, "verto.answer", params)


def bye(request_id: int, call_id: str, cause: str) -> str:
    """The far end hung up."""
    return request(
        request_id,
        "verto.bye",
        {"callID": call_id, "causeCode": CAUSE_CODES.get(cause, CLEARING_CODE), "cause": cause},
    )


def user_and_domain(login: str) -> tuple[str, str]:
    """``1000@example.com`` -> (``1000``, ``example.com``); no domain: empty."""
    user, _, domain = login.partition("@")
    return user, domain
