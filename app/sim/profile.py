"""Caller profiles, hangup causes and codecs: the static facts a channel reports in its events."""

from __future__ import annotations

from dataclasses import dataclass

from app.sim.wire import HeaderValue

Q850_CODES: dict[str, int] = {
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_TRANSIT_NET": 2,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "FACILITY_REJECTED": 29,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "SERVICE_UNAVAILABLE": 63,
    "CHAN_NOT_IMPLEMENTED": 66,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "ALLOTTED_TIMEOUT": 602,
    "USER_NOT_REGISTERED": 606,
    "INVALID_GATEWAY": 608,
}

# running-state name -> number (switch_types.h, switch_channel_state_t)
STATE_NUMBERS: dict[str, int] = {
    "CS_NEW": 0,
    "CS_INIT": 1,
    "CS_ROUTING": 2,
    "CS_SOFT_EXECUTE": 3,
    "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5,
    "CS_PARK": 6,
    "CS_CONSUME_MEDIA": 7,
    "CS_HIBERNATE": 8,
    "CS_RESET": 9,
    "CS_HANGUP": 10,
    "CS_REPORTING": 11,
    "CS_DESTROY": 12,
}


def is_known_cause(cause: str) -> bool:
    """True for a hangup cause name FreeSWITCH knows (``switch_channel_str2cause``)."""
    return cause.upper() in Q850_CODES


@dataclass(frozen=True)
class Codec:
    """A negotiated audio codec as the Channel-Read/Write-Codec-* headers show it."""

    name: str
    rate: int
    bit_rate: int


def codec_for_rate(rate: int, *, loopback: bool = False) -> Codec:
    """The codec a sofia (or loopback) channel at ``rate`` would negotiate."""
    if loopback:
        return Codec("L16", rate, rate * 16)
    if rate == 8000:
        return Codec("PCMU", 8000, 64000)
    if rate == 16000:
        return Codec("G722", 16000, 64000)
    if rate == 48000:
        return Codec("opus", 48000, 0)
    return Codec("L16", rate, rate * 16)


@dataclass
class CallerProfile:
    """``switch_caller_profile_t``: who calls whom, and the channel's timestamps (microseconds)."""

    direction: str
    uuid: str
    channel_name: str
    destination_number: str
    context: str
    source: str
    caller_id_number: str
    caller_id_name: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    username: str = ""
    network_addr: str = ""
    dialplan: str = "XML"
    created_us: int = 0
    answered_us: int = 0
    progress_us: int = 0
    progress_media_us: int = 0
    hangup_us: int = 0
    transfer_us: int = 0
    orig_caller_id_name: str | None = None
    orig_caller_id_number: str | None = None
    ani: str | None = None
    """The caller's number as the channel was created; a CID flip leaves it alone."""

    def __post_init__(self) -> None:
        if self.orig_caller_id_name is None:
            self.orig_caller_id_name = self.caller_id_name
        if self.orig_caller_id_number is None:
            self.orig_caller_id_number = self.caller_id_number
        if self.ani is None:
            self.ani = self.caller_id_number

    def flip_cid(self) -> None:
        """``switch_channel_flip_cid``: caller and callee ids swap once an originated leg is up.

        Real 1.10.12 gateway and loopback legs (tests/fixtures/freeswitch-1.10.12/realswitch-gateway-call,
        inbound-esl): ``Caller-Caller-ID-Number`` becomes the dialled number, ``Caller-Callee-ID-Number``
        the origination caller ID; ``ANI`` and ``Orig-Caller-ID-Number`` stay the caller ID.
        """
        self.caller_id_name, self.callee_id_name = self.callee_id_name, self.caller_id_name
        self.caller_id_number, self.callee_id_number = self.callee_id_number, self.caller_id_number

    def headers(self, prefix: str) -> list[tuple[str, HeaderValue]]:
        """The headers ``switch_caller_profile_event_set_data`` adds under ``prefix``."""
        rows: list[tuple[str, str]] = [
            ("Direction", self.direction),
            ("Logical-Direction", self.direction),
            ("Username", self.username),
            ("Dialplan", self.dialplan),
            ("Caller-ID-Name", self.caller_id_name),
            ("Caller-ID-Number", self.caller_id_number),
            ("Orig-Caller-ID-Name", self.orig_caller_id_name or ""),
            ("Orig-Caller-ID-Number", self.orig_caller_id_number or ""),
            ("Callee-ID-Name", self.callee_id_name),
            ("Callee-ID-Number", self.callee_id_number),
            ("Network-Addr", self.network_addr),
            ("ANI", self.ani or ""),
            ("Destination-Number", self.destination_number),
            ("Unique-ID", self.uuid),
            ("Source", self.source),
            ("Context", self.context),
            ("Channel-Name", self.channel_name),
            ("Profile-Index", "1"),
            ("Profile-Created-Time", str(self.created_us)),
            ("Channel-Created-Time", str(self.created_us)),
            ("Channel-Answered-Time", str(self.answered_us)),
            ("Channel-Progress-Time", str(self.progress_us)),
            ("Channel-Progress-Media-Time", str(self.progress_media_us)),
            ("Channel-Hangup-Time", str(self.hangup_us)),
            ("Channel-Transfer-Time", str(self.transfer_us)),
            ("Channel-Resurrect-Time", "0"),
            ("Channel-Bridged-Time", "0"),
            ("Channel-Last-Hold", "0"),
            ("Channel-Hold-Accum", "0"),
            ("Screen-Bit", "true"),
            ("Privacy-Hide-Name", "false"),
            ("Privacy-Hide-Number", "false"),
        ]
        return [(f"{prefix}-{name}", value) for name, value in rows if value]
