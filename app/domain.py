"""Vocabulary shared by every layer: call identity, type, direction and lifecycle states."""

from __future__ import annotations

import enum
import uuid as uuid_module
from collections.abc import Mapping
from typing import NewType
from urllib.parse import unquote

CallId = NewType("CallId", str)

CALL_VARIABLE_PREFIX = "cb_var_"
"""A call's own variables (CSV columns, ``--var``) travel as channel variables ``cb_var_<name>``,
percent-encoded, so that no value can change the originate command."""

ORIGINATE_EXTENSION = "callbridge_outbound"
ORIGINATE_CONTEXT = "callbridge_outbound"
"""Where an originated call runs once answered: the extension of dialplan/callbridge_outbound.xml, which
marks it ``callbridge_owned``, runs ``socket`` and parks it if the controller goes away."""


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


def decode_call_variables(channel_variables: Mapping[str, str]) -> dict[str, str]:
    """The call's variables back from channel data (``variable_cb_var_<name>`` or ``cb_var_<name>`` keys)."""
    decoded: dict[str, str] = {}
    for key, value in channel_variables.items():
        name = key.removeprefix("variable_")
        if name.startswith(CALL_VARIABLE_PREFIX) and len(name) > len(CALL_VARIABLE_PREFIX):
            decoded[name[len(CALL_VARIABLE_PREFIX) :]] = unquote(value)
    return decoded
