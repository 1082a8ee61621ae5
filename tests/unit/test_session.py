"""The call state machine, driven by real FreeSWITCH events from the 1.10.12 capture."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.control import actions as a
from app.control.callinfo import CallInfo, call_info_from_channel
from app.control.session import CallSession, Phase, SessionPolicy
from app.domain import CallType, Direction
from app.esl.protocol import Event, MessageReader, connect_reply_event, parse_event

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
PROMPT = Path("/srv/sounds/prompts/demo01/prompt_2s.wav")
POLICY = SessionPolicy(media_url="ws://127.0.0.1:8090", greeting="Hello there.", goodbye="Bye now.")


@pytest.fixture(scope="module")
def capture(fs_fixtures: Path) -> tuple[Event, list[Event]]:
    messages = list(MessageReader().feed((fs_fixtures / "outbound-socket-call.received.txt").read_bytes()))
    return connect_reply_event(messages[0]), [parse_event(m) for m in messages if m.is_event]


def first(events: list[Event], name: str, status: str | None = None) -> Event:
    return next(e for e in events if e.name == name and (status is None or e.get("Playback-Status") == status))


def of(kind: type, actions: list[a.Action]) -> list:  # type: ignore[type-arg]
    return [x for x in actions if isinstance(x, kind)]


def test_call_info_from_the_real_connect_reply(capture: tuple[Event, list[Event]]) -> None:
    info = call_info_from_channel(capture[0])
    assert info.uuid == "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"
    assert (info.direction, info.call_type, info.answered) == (Direction.INBOUND, CallType.SIP, False)
    assert (info.caller, info.callee) == ("sipp", "9999")


def test_inbound_call_answers_streams_greets_and_closes(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(call_info_from_channel(channel), POLICY)
    start = session.start(NOW)
    assert isinstance(start[0], a.RecordStart)
    assert of(a.SendMsg, start)[0].headers == {"call-command": "execute", "execute-app-name": "answer"}

    answered = session.handle(first(events, "CHANNEL_ANSWER"), NOW)
    stream = of(a.Api, answered)[0]
    assert stream.command.startswith(f"uuid_audio_stream {session.info.uuid} start ws://127.0.0.1:8090/call/")
    assert " mono 8k '{" in stream.command  # PCMU call: the worker gets native 8 kHz
    render = of(a.Render, answered)[0]
    assert (render.text, render.rate) == ("Hello there.", 8000)
    assert of(a.RecordAnswered, answered)

    session.handle(first(events, "CUSTOM"), NOW)  # mod_audio_stream::connect
    assert session.listening
    ready = session.handle(a.SpeechReady(render.tag, PROMPT, duration_ms=2000), NOW)
    apis = [x.command for x in of(a.Api, ready)]
    assert "send_text" in apis[0] and '"on":true' in apis[0]
    assert apis[1] == f"uuid_broadcast {session.info.uuid} {PROMPT} aleg"

    session.handle(first(events, "PLAYBACK_START"), NOW)
    stopped = session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    turn = of(a.RecordTurn, stopped)[0]
    assert (turn.speaker, turn.text, turn.interrupted, turn.heard_ms) == ("agent", "Hello there.", False, 2000)
    assert '"on":false' in of(a.Api, stopped)[0].command
    assert of(a.StartTimer, stopped)[0].name == "no_input"

    session.handle(first(events, "CHANNEL_HANGUP"), NOW)
    assert session.phase is Phase.HANGING_UP
    done = session.handle(first(events, "CHANNEL_HANGUP_COMPLETE"), NOW)
    end = of(a.RecordEnd, done)[0]
    assert (end.hangup_cause, end.state) == ("NORMAL_CLEARING", "ended")
    assert end.billsec == int(first(events, "CHANNEL_HANGUP_COMPLETE").variable("billsec") or -1)
    assert of(a.Finish, done)
    assert session.handle(first(events, "CHANNEL_ANSWER"), NOW) == []


def test_barged_playback_records_what_was_heard(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    render = of(a.Render, session.start(NOW))[0]
    session.handle(a.SpeechReady(render.tag, PROMPT, duration_ms=2000), NOW)
    starts = [e for e in events if e.name == "PLAYBACK_START"]
    session.handle(starts[1], NOW)
    stopped = session.handle(first(events, "PLAYBACK_STOP", "break"), NOW)
    turn = of(a.RecordTurn, stopped)[0]
    assert turn.interrupted
    assert turn.heard_ms is not None and 0 < turn.heard_ms < 2000


def test_no_input_leads_to_goodbye_then_hangup(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    policy = replace(POLICY, max_no_input=1)
    session = CallSession(replace(call_info_from_channel(channel), answered=True), policy)
    greeting = of(a.Render, session.start(NOW))[0]
    session.handle(a.SpeechReady(greeting.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    goodbye = of(a.Render, session.handle(a.TimerFired("no_input"), NOW))[0]
    assert goodbye.text == "Bye now." and session.phase is Phase.CLOSING
    session.handle(a.SpeechReady(goodbye.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    after = session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    assert of(a.SendMsg, after)[0].headers == {"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"}


def test_caller_speech_cancels_the_no_input_timer(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    session.start(NOW)
    utterance = next(e for e in events if e.subclass == "mod_audio_stream::json")
    out = session.handle(utterance, NOW)
    assert of(a.CancelTimer, out)[0].name == "no_input"
    assert of(a.RecordTurn, out)[0].text == "hello"


def test_hangup_before_answer_closes_the_record(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(call_info_from_channel(channel), POLICY)
    session.start(NOW)
    done = session.handle(first(events, "CHANNEL_HANGUP_COMPLETE"), NOW)
    assert of(a.RecordEnd, done)[0].hangup_cause == "NORMAL_CLEARING"
    assert not of(a.RecordAnswered, done)


def test_failed_answer_hangs_up_and_lost_socket_fails_the_record(capture: tuple[Event, list[Event]]) -> None:
    channel, _ = capture
    session = CallSession(call_info_from_channel(channel), POLICY)
    session.start(NOW)
    out = session.handle(a.CommandResult("answer", False, "-ERR no reply"), NOW)
    assert of(a.RecordEvent, out)[0].detail == {"command": "answer", "reply": "-ERR no reply"}
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"
    lost = session.handle(a.ConnectionLost("closed by peer"), NOW)
    assert of(a.RecordEnd, lost)[0].state == "failed"
    assert of(a.Finish, lost)


def test_failed_broadcast_and_tts_do_not_leave_the_call_hanging(capture: tuple[Event, list[Event]]) -> None:
    channel, _ = capture
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    greeting = of(a.Render, session.start(NOW))[0]
    session.handle(a.SpeechReady(greeting.tag, PROMPT, 2000), NOW)
    out = session.handle(a.CommandResult(greeting.tag, False, "-ERR invalid uuid"), NOW)
    assert of(a.StartTimer, out)[0].name == "no_input"
    bye = of(a.Render, session.handle(a.TimerFired("no_input"), NOW) + session.handle(a.TimerFired("no_input"), NOW))
    assert bye
    out = session.handle(a.SpeechReady(bye[0].tag, None, error="voice missing"), NOW)
    assert of(a.RecordEvent, out)[0].name == "tts_failed"
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"


def test_events_of_other_calls_and_garbage_from_the_worker_are_ignored(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    session.start(NOW)
    other = Event(headers={**first(events, "CHANNEL_HANGUP").headers, "Unique-ID": "00000000-0000-0000-0000-000000000000"})
    assert session.handle(other, NOW) == []
    garbage = Event(headers={**first(events, "CUSTOM").headers, "Event-Subclass": "mod_audio_stream::json"}, body="{oops")
    assert of(a.RecordEvent, session.handle(garbage, NOW))[0].name == "worker_message_invalid"
    assert session.phase is Phase.ACTIVE


def test_webrtc_calls_render_wideband() -> None:
    info = CallInfo("9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1", Direction.INBOUND, CallType.WEBRTC, "a", "b",  # type: ignore[arg-type]
                    None, None, True, 48000, "verto.rtc/x")
    out = CallSession(info, POLICY).start(NOW)
    assert of(a.Render, out)[0].rate == 16000
    assert " mono 16k " in of(a.Api, out)[0].command
