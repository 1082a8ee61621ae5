"""Vocabulary shared by every layer: call identity, type, direction and lifecycle states."""

from __future__ import annotations

import enum
import uuid as uuid_module
from typing import NewType

CallId = NewType("CallId", str)


class CallType(enum.StrEnum):
    """How the caller reached FreeSWITCH; it selects the VAD profile (SIP is noisier and later)."""

    SIP = "sip"
    WEBRTC = "webrtc"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallState(enum.StrEnum):
    """Lifecycle of a call as the call log records it."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    FAILED = "failed"


class Speaker(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"


def parse_call_id(value: str) -> CallId:
    """Return ``value`` as a call uuid, or raise ValueError unless it is canonical and lower-case.

    FreeSWITCH looks channels up by the exact string, so ``ABC...`` would name no channel.
    """
    try:
        parsed = uuid_module.UUID(value)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"not a call uuid: {value!r}") from exc
    canonical = str(parsed)
    if canonical != value:
        raise ValueError(f"not a canonical call uuid: {value!r}")
    return CallId(canonical)


def new_call_id() -> CallId:
    return CallId(str(uuid_module.uuid4()))
