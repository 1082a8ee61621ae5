"""The worker's message schema, and that the controller understands what the worker sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.control import actions as a
from app.control.callinfo import call_info_from_channel
from app.control.session import CallSession, SessionPolicy
from app.esl import commands
from app.esl.protocol import Event, MessageReader, connect_reply_event, parse_event
from app.media import messages, wire

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
POLICY = SessionPolicy(media_url="ws://127.0.0.1:8090", goodbye="Bye now.")
UTTERANCE = messages.utterance(
    text="I need a table for two",
    confidence=0.91,
    start_ms=800,
    end_ms=2560,
    decided_ms=3072,
    stt_ms=412.5,
    engine="whisper",
    reason="silence",
)


def test_every_builder_makes_a_valid_message() -> None:
    for message in (
        messages.speech_started(800),
        messages.partial("i need", 800),
        messages.speech_stopped(800, 2560, 3072, "silence"),
        UTTERANCE,
    ):
        messages.validate(message)
        assert wire.encode_message(message).startswith('{"type":')


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"type": "nonsense"}, "unknown message type"),
        ({"text": 3}, "utterance.text"),
        ({"confidence": 1.5}, "confidence"),
        ({"stt_ms": True}, "bool"),
        ({"reason": "bored"}, "reason"),
        ({"extra": 1}, "unexpected field"),
    ],
)
def test_bad_messages_are_refused(change: dict[str, object], error: str) -> None:
    with pytest.raises(messages.MessageError, match=error):
        messages.validate({**UTTERANCE, **change})


def test_missing_fields_are_refused() -> None:
    broken = dict(UTTERANCE)
    del broken["decided_ms"]
    with pytest.raises(messages.MessageError, match="missing 'decided_ms'"):
        messages.validate(broken)


@pytest.fixture(scope="module")
def capture(fs_fixtures: Path) -> tuple[Event, list[Event]]:
    raw = (fs_fixtures / "outbound-socket-call.received.txt").read_bytes()
    found = list(MessageReader().feed(raw))
    return connect_reply_event(found[0]), [parse_event(m) for m in found if m.is_event]


def as_event(real: Event, message: dict[str, object]) -> Event:
    """The real ``mod_audio_stream::json`` event of the capture, carrying our message as its body."""
    return Event(headers=dict(real.headers), body=wire.encode_message(message))


def test_the_controller_records_the_worker_utterance_with_its_timings(
    capture: tuple[Event, list[Event]],
) -> None:
    channel, events = capture
    real = next(e for e in events if e.subclass == "mod_audio_stream::json")
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    session.start(NOW)
    started = session.handle(as_event(real, messages.speech_started(800)), NOW)
    assert any(isinstance(x, a.CancelTimer) for x in started)
    out = session.handle(as_event(real, UTTERANCE), NOW)
    (turn,) = [x for x in out if isinstance(x, a.RecordTurn)]
    assert turn.text == "I need a table for two"
    assert turn.timings["stt_ms"] == 412.5 and turn.timings["decided_ms"] == 3072
    assert turn.timings["engine"] == "whisper"


def test_the_controller_playback_notice_reaches_the_worker_as_a_control_message() -> None:
    for on in (True, False):
        command = commands.audio_stream_send_text(
            "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1", {"type": "playback", "on": on}
        )
        # FreeSWITCH strips the single quotes and sends the rest as one text frame.
        payload = command.split(" send_text ", 1)[1].strip().strip("'")
        assert wire.parse_control(payload) == {"type": "playback", "on": on}
