"""What a call is, read from FreeSWITCH's channel data (the ``connect`` reply or any channel event)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.domain import CallId, CallType, Direction, decode_call_variables, parse_call_id
from app.esl.protocol import Event

CALL_TYPE_VARIABLE = "call_type"
DIRECTION_VARIABLE = "callbridge_direction"
CALLEE_VARIABLE = "callbridge_callee"
CAMPAIGN_VARIABLE = "callbridge_campaign"
FLOW_VARIABLE = "callbridge_flow"
# Set on a parked call by the controller taking it back after a restart (app/control/reclaim.py).
REATTACH_VARIABLE = "callbridge_reattach"
AMD_VARIABLE = "callbridge_amd"
AMD_VERDICT_VARIABLE = "callbridge_amd_verdict"
MAX_RATE = 384_000  # the highest sampling rate any FreeSWITCH codec or resampler has
MAX_SECONDS = 2**31 - 1  # the call log's INTEGER columns
MAX_TIMESTAMP_US = 253_402_214_400_000_000  # 9999-12-31T00:00:00Z: datetime ends with that year


@dataclass(frozen=True)
class CallInfo:
    uuid: CallId
    direction: Direction
    call_type: CallType
    caller: str | None
    callee: str | None
    gateway: str | None
    campaign_ref: str | None
    answered: bool
    rate: int | None
    channel_name: str
    flow: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    amd: str | None = None  # "hangup" | "voicemail": screen for answering machines before speaking
    reattached: bool = False  # a call in progress taken back after a controller restart


def call_info_from_channel(channel: Event) -> CallInfo:
    """Build :class:`CallInfo`; raises ValueError when the channel has no usable uuid.

    The call type comes from the ``call_type`` variable the dialplan sets; a Verto channel without it is
    WebRTC. Calls we originate carry ``callbridge_direction=outbound`` and the dialled number.
    """
    uuid = parse_call_id(channel.get("Unique-ID") or channel.variable("uuid") or "")
    channel_name = channel.get("Channel-Name", "") or ""
    declared_type = (channel.variable(CALL_TYPE_VARIABLE) or "").strip().lower()
    if declared_type in {t.value for t in CallType}:
        call_type = CallType(declared_type)
    else:
        call_type = CallType.WEBRTC if channel_name.startswith("verto") else CallType.SIP
    declared_direction = (channel.variable(DIRECTION_VARIABLE) or "").strip().lower()
    direction = Direction.OUTBOUND if declared_direction == "outbound" else Direction.INBOUND
    if direction is Direction.OUTBOUND:
        # Not Caller-Caller-ID-Number: FreeSWITCH flips an originated leg's caller ID once it answers,
        # so by the time the socket connects that header is the dialled number (realswitch-gateway-call).
        caller = (
            channel.variable("origination_caller_id_number")
            or channel.get("Caller-Orig-Caller-ID-Number")
            or channel.get("Caller-Caller-ID-Number")
        )
        callee = channel.variable(CALLEE_VARIABLE) or channel.get("Caller-Destination-Number")
    else:
        caller = channel.get("Caller-Caller-ID-Number")
        callee = channel.get("Caller-Destination-Number")
    return CallInfo(
        uuid=uuid,
        direction=direction,
        call_type=call_type,
        caller=caller or None,
        callee=callee or None,
        gateway=channel.variable("sip_gateway_name") or None,
        campaign_ref=channel.variable(CAMPAIGN_VARIABLE) or None,
        answered=channel.get("Answer-State") == "answered",
        rate=codec_rate(channel),
        channel_name=channel_name,
        flow=channel.variable(FLOW_VARIABLE) or None,
        variables=decode_call_variables(channel.headers),
        amd=_amd_action(channel) if direction is Direction.OUTBOUND else None,
        reattached=(channel.variable(REATTACH_VARIABLE) or "").strip().lower() == "true",
    )


def _amd_action(channel: Event) -> str | None:
    action = (channel.variable(AMD_VARIABLE) or "").strip().lower()
    return action if action in ("hangup", "voicemail") else None


def codec_rate(channel: Event) -> int | None:
    """The rate of audio written to the caller, when the channel has negotiated a codec."""
    for key in ("Channel-Write-Codec-Rate", "variable_write_rate", "variable_rtp_use_codec_rate"):
        rate = _count(channel.get(key) or "", MAX_RATE)
        if rate:
            return rate
    return None


def speech_rate(codec: int | None, call_type: CallType) -> int:
    """8 kHz for narrowband (G.711) calls; 16 kHz for wideband and WebRTC (Opus)."""
    if call_type is CallType.WEBRTC:
        return 16000
    return 8000 if (codec or 8000) <= 8000 else 16000


def event_time(event: Event, fallback: datetime) -> datetime:
    """When FreeSWITCH raised the event (``Event-Date-Timestamp``, microseconds since the epoch)."""
    stamp = _count(event.get("Event-Date-Timestamp") or "", MAX_TIMESTAMP_US)
    return fallback if stamp is None else datetime.fromtimestamp(stamp / 1_000_000, tz=UTC)


def int_variable(event: Event, name: str) -> int | None:
    """A count of seconds (``billsec``, ``duration``): a whole number the call log can store, or None."""
    return _count(event.variable(name) or "", MAX_SECONDS)


def _count(raw: str, highest: int) -> int | None:
    """``raw`` as a whole number in ``0..highest``, else None.

    ASCII digits only: ``str.isdigit()`` also takes '²' (which ``int()`` refuses) and ``int()`` takes
    other scripts' digits; a channel variable is whatever the dialplan or a caller's SIP headers put there.
    """
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(highest)):
        return None
    value = int(text)
    return value if value <= highest else None
