"""Real SIP calls (SIPp) into a real FreeSWITCH, answered by the Callbridge stack as ``callbridge serve`` runs it.

The same expectations as tests/integration/test_call_flow.py has of the stand-in: the DID reaches the
controller through the public context's ``socket``, the caller is greeted, the no-input prompt ends the
call, and the call log holds the whole call with the cause FreeSWITCH reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.wiring import Stack
from tests.realswitch import sipp
from tests.realswitch.harness import RealSwitch
from tests.realswitch.waits import only_call

pytestmark = pytest.mark.skipif(
    sipp.SIPP is None, reason="sipp is not installed (apt-get install sip-tester)"
)

DID = "15555550100"


def test_a_did_call_is_answered_greeted_and_hung_up_by_the_agent(
    real_switch: RealSwitch, real_stack: Stack, caller_wav: Path, tmp_path: Path
) -> None:
    result = sipp.call(
        tmp_path / "sipp", number=f"+{DID}", port=real_switch.ports.external_sip, audio_wav=caller_wav
    )
    assert result.ok, result.output + result.messages

    record = only_call(real_stack.call_log)
    assert real_stack.controller_finished(record.uuid, timeout=10)
    assert (record.direction, record.call_type, record.state) == ("inbound", "sip", "ended")
    assert (record.caller, record.callee) == ("15551230000", f"+{DID}")
    assert record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING" and record.billsec is not None

    seen = [event.name for event in real_stack.call_log.events(record.uuid)]
    for expected in (
        "CHANNEL_ANSWER",
        "audio_stream_connected",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "no_input",
        "CHANNEL_HANGUP_COMPLETE",
    ):
        assert expected in seen, seen
    turns = real_stack.call_log.turns(record.uuid)
    assert [(t.speaker, t.text, t.interrupted) for t in turns] == [
        ("agent", "Hello. Say something.", False),
        ("agent", "Bye.", False),
    ]
    assert all(t.heard_ms and t.heard_ms > 300 for t in turns)
    report = real_stack.reports.get(record.uuid)
    assert report is not None and report.rate == 8000
    assert report.seconds > 2.0  # the caller's RTP reached the worker through mod_audio_stream
    assert report.rms_dbfs > -30  # ...as the tone, not silence


def test_the_caller_hangs_up_and_the_log_says_so(
    real_switch: RealSwitch, real_stack: Stack, caller_wav: Path, tmp_path: Path
) -> None:
    result = sipp.call(
        tmp_path / "sipp", number=DID, port=real_switch.ports.external_sip, audio_wav=caller_wav,
        hangs_up_after_ms=1500,
    )  # fmt: skip
    assert result.ok, result.output + result.messages
    record = only_call(real_stack.call_log)
    assert real_stack.controller_finished(record.uuid, timeout=10)
    assert record.state == "ended" and record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING"
    assert record.billsec is not None and record.billsec <= 3


def test_the_public_context_refuses_any_other_number(
    real_switch: RealSwitch, real_stack: Stack, tmp_path: Path
) -> None:
    result = sipp.call(
        tmp_path / "sipp", number="4930123456", port=real_switch.ports.external_sip, refused_with=404
    )
    assert result.ok, result.output + result.messages
    assert real_stack.call_log.recent_calls() == []  # it never reached the controller
    assert "public call to unknown number [4930123456]" in real_switch.log_text()
