"""Outbound calls on the real switch: the originate ``callbridge call`` sends, through a sofia gateway.

The callee is a real SIP UA (a SIPp UAS on 127.0.0.1 streaming a WAV as RTP), reached through a copy of
the shipped Twilio gateway pointed at it (tests/realswitch/gateway.py). FreeSWITCH dials it, runs
the callbridge_outbound extension (``socket``) on the answered channel, and the controller, hearing ``callbridge_direction=outbound``, has
the agent speak first. The same expectations as tests/dialer/test_dialer_single_call.py has of the
stand-in, plus what only a real switch and a real UA show: the SIP the gateway sends, the cause and
billsec FreeSWITCH reports, and the callee's audio reaching the worker through mod_audio_stream.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.dialer.cli_common import connect
from app.dialer.dialstring import OutboundCall
from app.dialer.hangups import HangupWatch
from app.dialer.single import CallOutcome, place_call
from app.esl.inbound import InboundClient
from app.wiring import Stack
from tests.realswitch import sipp, sipp_callee
from tests.realswitch.gateway import loopback_gateway
from tests.realswitch.harness import RealSwitch
from tests.realswitch.tap import Tap, joined

pytestmark = pytest.mark.skipif(
    sipp.SIPP is None, reason="sipp is not installed (apt-get install sip-tester)"
)

NUMBER = "+12125550123"
CALLER_ID = "+12125550100"


@pytest.fixture
def dialer_esl(real_settings: Settings, real_stack: Stack) -> Iterator[tuple[InboundClient, HangupWatch]]:
    """The event-socket client ``callbridge call`` opens (same events), feeding a hangup watch."""
    hangups = HangupWatch()
    client = connect(real_settings, hangups.feed)
    yield client, hangups
    client.stop()


def dial(
    esl: tuple[InboundClient, HangupWatch], stack: Stack, gateway: str
) -> tuple[OutboundCall, CallOutcome]:
    """Place the call as ``callbridge call NUMBER --gateway GATEWAY --wait`` does; the switch's configured
    controller address, where the callbridge_outbound extension sends it, is the tap."""
    client, hangups = esl
    call = OutboundCall(
        uuid=str(uuid_module.uuid4()),
        number=NUMBER,
        gateways=(gateway,),
        timeout=10,
        caller_id_number=CALLER_ID,
    )
    return call, place_call(client, stack.call_log, call, hangups=hangups, wait_for_hangup=True)


def test_an_answered_outbound_call_has_the_agent_speak_first_and_hang_up(
    real_switch: RealSwitch,
    real_stack: Stack,
    tap: Tap,
    dialer_esl: tuple[InboundClient, HangupWatch],
    caller_wav: Path,
    tmp_path: Path,
) -> None:
    callee = sipp_callee.answer(tmp_path / "sipp", audio_wav=caller_wav)
    try:
        with loopback_gateway(real_switch, callee.address) as gateway:
            call, outcome = dial(dialer_esl, real_stack, gateway)
            result = callee.result()
    finally:
        callee.stop()
    assert result.ok, result.output + result.messages
    assert outcome.result.ok and outcome.result.channel_uuid == call.uuid, outcome
    assert outcome.hangup is not None and outcome.hangup.cause == "NORMAL_CLEARING", outcome
    assert outcome.hangup.gateway == gateway
    assert real_stack.controller_finished(call.uuid, timeout=10)

    record = real_stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.direction, record.call_type, record.state) == ("outbound", "sip", "ended")
    assert (record.caller, record.callee, record.gateway) == (CALLER_ID, NUMBER, gateway)
    assert record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING"  # the agent's, after its goodbye
    assert record.billsec == outcome.hangup.billsec and record.billsec is not None and record.billsec >= 3

    seen = [event.name for event in real_stack.call_log.events(call.uuid)]
    # BACKGROUND_JOB (the dialler's) and CHANNEL_ANSWER (the controller's, at the answer's time) come
    # from two writers: their order in the log is not fixed.
    for expected in (
        "BACKGROUND_JOB", "CHANNEL_ANSWER", "audio_stream_connected", "PLAYBACK_START", "no_input",
        "CHANNEL_HANGUP_COMPLETE",
    ):  # fmt: skip
        assert expected in seen, seen
    turns = real_stack.call_log.turns(call.uuid)
    assert [(t.speaker, t.text, t.interrupted) for t in turns] == [
        ("agent", "Hello. Say something.", False),
        ("agent", "Bye.", False),
    ]
    assert all(t.heard_ms and t.heard_ms > 300 for t in turns)
    report = real_stack.reports.get(call.uuid)
    assert report is not None and report.rate == 8000
    assert report.rms_dbfs > -30  # the callee's tone reached the worker through mod_audio_stream

    # What the gateway sent: the number in the Request-URI, the caller ID in From (caller-id-in-from).
    invite = result.messages.split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
    assert invite.startswith(f"{NUMBER}@{callee.address}"), invite
    assert re.search(rf"^From: .*<sip:{re.escape(CALLER_ID)}@", invite, re.MULTILINE), invite
    # What the socket saw: an answered outbound leg whose caller ID FreeSWITCH has flipped (the caller ID
    # is now Callee-ID-Number); the controller still takes the caller ID as the caller, answers nothing.
    (transcript,) = tap.transcripts
    received, sent = joined(transcript, "received"), joined(transcript, "sent")
    connect_reply = received.split("\n\n", 1)[0]
    for header in (
        "Caller-Direction: outbound", "Answer-State: answered", "variable_channel_cid_flipped: yes",
        "Caller-Caller-ID-Number: %2B12125550123", "Caller-Callee-ID-Number: %2B12125550100",
    ):  # fmt: skip
        assert header in connect_reply, (header, connect_reply)
    assert f'"direction":"outbound","caller":"{CALLER_ID}"' in sent
    assert "execute-app-name: answer" not in sent


def test_the_callee_hangs_up_during_the_call(
    real_switch: RealSwitch,
    real_stack: Stack,
    tap: Tap,
    dialer_esl: tuple[InboundClient, HangupWatch],
    caller_wav: Path,
    tmp_path: Path,
) -> None:
    callee = sipp_callee.answer(tmp_path / "sipp", audio_wav=caller_wav, hangs_up_after_ms=2500)
    try:
        with loopback_gateway(real_switch, callee.address) as gateway:
            call, outcome = dial(dialer_esl, real_stack, gateway)
            result = callee.result()
    finally:
        callee.stop()
    assert result.ok, result.output + result.messages
    assert outcome.hangup is not None and outcome.hangup.cause == "NORMAL_CLEARING", outcome
    assert real_stack.controller_finished(call.uuid, timeout=10)
    record = real_stack.call_log.get_call(call.uuid)
    assert record is not None and record.state == "ended" and record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING"
    assert record.billsec is not None and record.billsec <= 3
    turns = real_stack.call_log.turns(call.uuid)
    assert turns and turns[0].speaker == "agent"  # it spoke first, and never got to its goodbye
    assert "Bye." not in [t.text for t in turns]


def test_a_busy_callee_fails_the_call_with_user_busy(
    real_switch: RealSwitch,
    real_stack: Stack,
    tap: Tap,
    dialer_esl: tuple[InboundClient, HangupWatch],
    tmp_path: Path,
) -> None:
    callee = sipp_callee.answer(tmp_path / "sipp", refuse_with=486)
    try:
        with loopback_gateway(real_switch, callee.address) as gateway:
            call, outcome = dial(dialer_esl, real_stack, gateway)
            result = callee.result()
    finally:
        callee.stop()
    assert result.ok, result.output + result.messages
    assert not outcome.result.ok and outcome.result.cause == "USER_BUSY", outcome
    record = real_stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.state, record.hangup_cause, record.answered_at) == ("failed", "USER_BUSY", None)
    assert tap.transcripts == []  # the controller never saw it
