"""The originate command of one outbound call, built only from validated values.

The number must be E.164 and the gateways configured names; CSV values travel as channel variables
``cb_var_<name>``, percent-encoded so that no comma, brace, quote, dollar sign, space or newline can reach
the command (``${...}`` in a value would otherwise be expanded by FreeSWITCH).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from app.dialer.numbers import is_e164
from app.domain import CALL_VARIABLE_PREFIX, ORIGINATE_CONTEXT, ORIGINATE_EXTENSION
from app.esl import commands
from app.esl.commands import UnsafeValue

GATEWAY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_FLOW = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CAMPAIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CALLER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
# Percent-encode everything but letters, digits, "_", "." and "-".
_SAFE_CHARACTERS = "_.-"


@dataclass(frozen=True)
class OutboundCall:
    """Everything the originate of one call says; see :func:`originate_command`."""

    uuid: str
    number: str
    gateways: Sequence[str]
    timeout: int = 30
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    call_type: str = "sip"
    campaign: str | None = None
    flow: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    amd: str | None = None  # "hangup" | "voicemail": the controller detects answering machines


def encode_value(value: str) -> str:
    """A variable value as ``[A-Za-z0-9_.%-]`` only (UTF-8 percent-encoding)."""
    return quote(value, safe=_SAFE_CHARACTERS)


def endpoints(number: str, gateways: Sequence[str]) -> list[str]:
    """``sofia/gateway/<gw>/<number>`` for each gateway, primary first (joined by ``|`` for failover)."""
    if not is_e164(number):
        raise UnsafeValue(f"not an E.164 number: {number!r}")
    if not gateways:
        raise UnsafeValue("at least one gateway is needed")
    for gateway in gateways:
        if not GATEWAY_NAME.match(gateway):
            raise UnsafeValue(f"not a gateway name: {gateway!r}")
    return [f"sofia/gateway/{gateway}/{number}" for gateway in gateways]


def _checked(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise UnsafeValue(f"{what} is not allowed: {value!r}")
    return value


def channel_variables_of(call: OutboundCall) -> dict[str, object]:
    """The ``{...}`` variables of the originate, in a stable order."""
    variables: dict[str, object] = {
        "origination_uuid": commands.call_uuid(call.uuid),
        "ignore_early_media": True,
        "originate_timeout": int(call.timeout),
        "call_type": _checked(re.compile(r"^(sip|webrtc)$"), call.call_type, "call type"),
        "callbridge_direction": "outbound",
        "callbridge_callee": call.number,
    }
    if call.caller_id_number is not None:
        if not is_e164(call.caller_id_number) and not call.caller_id_number.isdigit():
            raise UnsafeValue(f"caller ID number must be E.164 or digits: {call.caller_id_number!r}")
        variables["origination_caller_id_number"] = call.caller_id_number
    if call.caller_id_name is not None:
        variables["origination_caller_id_name"] = _checked(
            _CALLER_NAME, call.caller_id_name, "caller ID name"
        )
    if call.campaign is not None:
        variables["callbridge_campaign"] = _checked(_CAMPAIGN, call.campaign, "campaign id")
    if call.flow is not None:
        variables["callbridge_flow"] = _checked(_FLOW, call.flow, "flow name")
    if call.amd is not None and call.amd != "continue":
        variables["callbridge_amd"] = _checked(re.compile(r"^(hangup|voicemail)$"), call.amd, "AMD action")
    for name, value in call.variables.items():
        variables[CALL_VARIABLE_PREFIX + _checked(_NAME, name, "variable name")] = encode_value(value)
    return variables


def originate_command(call: OutboundCall) -> str:
    """``originate {vars}sofia/gateway/a/N|sofia/gateway/b/N callbridge_outbound XML callbridge_outbound``.

    Not ``&socket(...)``: that runs one application, and the call hangs up when the socket goes away. The
    extension (dialplan/callbridge_outbound.xml) runs ``socket`` to the controller the switch is configured
    with, then parks the call for a restarted controller to take back, as the inbound extensions do.
    """
    if call.timeout < 1:
        raise UnsafeValue("originate timeout must be at least 1 s")
    return commands.originate(
        channel_variables_of(call),
        endpoints(call.number, call.gateways),
        commands.dialplan_extension(ORIGINATE_EXTENSION, ORIGINATE_CONTEXT),
    )
