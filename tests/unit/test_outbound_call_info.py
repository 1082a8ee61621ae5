"""The controller's view of an originated call, from the real switch's connect reply (realswitch-gateway-call).

FreeSWITCH flips an originated leg's caller ID once it answers, so ``Caller-Caller-ID-Number`` is the dialled
number by the time ``&socket`` connects. The caller is the caller ID the dialler set, as the call log has it.
"""

from __future__ import annotations

from pathlib import Path

from app.control.callinfo import call_info_from_channel
from app.domain import CallType, Direction
from app.esl.protocol import Event, MessageReader, connect_reply_event


def real_connect_reply(fs_fixtures: Path) -> Event:
    received = (fs_fixtures / "realswitch-gateway-call.received.txt").read_bytes()
    return connect_reply_event(next(iter(MessageReader().feed(received))))


def test_an_originated_call_is_from_the_caller_id_to_the_dialled_number(fs_fixtures: Path) -> None:
    channel = real_connect_reply(fs_fixtures)
    assert channel.get("Caller-Caller-ID-Number") == "+12125550123"  # flipped: what a naive reading takes
    info = call_info_from_channel(channel)
    assert (info.direction, info.call_type, info.answered, info.rate) == (
        Direction.OUTBOUND, CallType.SIP, True, 8000,
    )  # fmt: skip
    assert (info.caller, info.callee) == ("+12125550100", "+12125550123")
    assert info.gateway is not None and info.gateway.startswith("callbridge_test_")


def test_without_the_variable_the_original_caller_id_is_taken(fs_fixtures: Path) -> None:
    channel = real_connect_reply(fs_fixtures)
    headers = {k: v for k, v in channel.headers.items() if k != "variable_origination_caller_id_number"}
    # Then Caller-Orig-Caller-ID-Number, which the flip leaves alone.
    assert call_info_from_channel(Event(headers=headers)).caller == "+12125550100"
