"""An inbound call, on both switches: answered, greeted, the caller's words transcribed and answered,
hung up by the agent or by the caller, and the call log holding the whole call with the switch's cause."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.demo import audible_ms
from app.tts.base import Audio, write_wav
from tests.contract.conftest import AnswerWith
from tests.contract.lines import CALLER, DID, Line

SHORT_FLOW = Path(__file__).resolve().parents[1] / "integration" / "data" / "short.yaml"
REQUEST = "I would like to book an appointment for tomorrow morning."
RATE = 8000


def tone_caller(path: Path) -> Path:
    """Half a second of silence, two seconds of a 440 Hz tone (no words), then 20 s of silence as RTP."""
    t = np.arange(2 * RATE) / RATE
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    silence = np.zeros(RATE // 2, dtype=np.int16)
    write_wav(path, Audio(np.concatenate([silence, tone, np.zeros(20 * RATE, dtype=np.int16)]), RATE))
    return path


def test_a_caller_who_says_nothing_is_greeted_prompted_and_hung_up_on(
    line: Line, answer_with: AnswerWith, tmp_path: Path
) -> None:
    stack = answer_with(SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="2.5", max_no_input="1")

    call = line.dial_in(stack, tmp_path / "call", tone_caller(tmp_path / "tone.wav"))

    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.answered_at is not None and record.ended_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING" and record.billsec is not None
    seen = [event.name for event in stack.call_log.events(call.uuid)]
    for expected in ("CHANNEL_ANSWER", "audio_stream_connected", "PLAYBACK_START", "PLAYBACK_STOP", "no_input",
                     "CHANNEL_HANGUP_COMPLETE"):  # fmt: skip
        assert expected in seen, seen
    turns = stack.call_log.turns(call.uuid)
    assert [(t.speaker, t.text, t.interrupted) for t in turns] == [
        ("agent", "Hello. Say something.", False),
        ("agent", "Bye.", False),
    ]
    greeting = turns[0].timings or {}
    assert greeting["trigger"] == "call_started"
    assert 0 <= greeting["first_audio_ms"] <= greeting["broadcast_sent_ms"]
    # PLAYBACK_START carries FreeSWITCH's own clock, which read 2 ms behind ours on one real run: the two
    # clocks are allowed a few ms, not an order.
    assert greeting["playback_started_ms"] >= greeting["broadcast_sent_ms"] - 20
    assert all(t.heard_ms and t.heard_ms > 300 for t in turns)
    report = stack.reports.get(call.uuid)
    assert report is not None and report.rate == 8000
    assert report.seconds > 2.0  # the caller's audio reached the worker through mod_audio_stream
    assert report.rms_dbfs > -30  # ...as the tone, not silence
    assert "playback" in report.controls
    assert audible_ms(call.recording, channel=1) > 500  # the agent was heard
    assert audible_ms(call.recording, channel=0) > 1500  # the caller's tone


def test_the_caller_is_greeted_heard_answered_and_hung_up_on(
    line: Line, answer_with: AnswerWith, speak: Callable[..., Path], tmp_path: Path
) -> None:
    stack = answer_with(SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="6", max_no_input="1")
    caller = speak(tmp_path / "caller.wav", (3.5, REQUEST))

    call = line.dial_in(stack, tmp_path / "call", caller)

    record = stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.direction, record.call_type, record.state) == ("inbound", "sip", "ended")
    assert record.caller is not None and record.caller.lstrip("+") == CALLER
    assert record.callee is not None and record.callee.lstrip("+") == DID
    assert record.answered_at is not None and record.billsec is not None
    assert record.hangup_cause == "NORMAL_CLEARING"

    turns = [(t.speaker, t.text) for t in stack.call_log.turns(call.uuid)]
    assert turns[0] == ("agent", "Hello. Say something."), turns
    assert turns[1][0] == "caller" and "appointment" in turns[1][1].lower(), turns
    assert turns[2:] == [("agent", "Bye.")], turns
    events = [e.name for e in stack.call_log.events(call.uuid)]
    assert events.count("PLAYBACK_START") >= 2 and "barge_in" not in events, events
    # What the caller heard: the greeting and the goodbye, on the right channel of the call's recording.
    assert audible_ms(call.recording, channel=1) > 800
    assert audible_ms(call.recording, channel=0) > 1500  # ...and what the caller said, on the left


def test_the_caller_hangs_up_and_the_log_says_so(
    line: Line, answer_with: AnswerWith, speak: Callable[..., Path], tmp_path: Path
) -> None:
    stack = answer_with(SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="6", max_no_input="1")
    caller = speak(tmp_path / "caller.wav")  # says nothing

    call = line.dial_in(stack, tmp_path / "call", caller, hang_up_after_ms=2500)

    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.state == "ended" and record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING"
    assert record.billsec is not None and record.billsec <= 4
    agent_said = [t.text for t in stack.call_log.turns(call.uuid) if t.speaker == "agent"]
    assert agent_said == ["Hello. Say something."], agent_said  # gone before the no-input goodbye
