"""The call state machine, driven by real FreeSWITCH events from the 1.10.12 capture."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.config import Settings
from app.control import actions as a
from app.control.callinfo import CallInfo, call_info_from_channel
from app.control.session import CallSession, Phase, SessionPolicy
from app.dialog import base as d
from app.domain import CallType, Direction
from app.esl.protocol import Event, MessageReader, connect_reply_event, parse_event

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
PROMPT = Path("/srv/sounds/prompts/demo01/prompt_2s.wav")
# The uuid_broadcast path throughout; the default sendmsg path has its own tests (playback_command="execute").
POLICY = SessionPolicy(
    media_url="ws://127.0.0.1:8090", goodbye="Bye now.", max_no_input=1, playback_command="broadcast"
)


@pytest.fixture(scope="module")
def capture(fs_fixtures: Path) -> tuple[Event, list[Event]]:
    messages = list(MessageReader().feed((fs_fixtures / "outbound-socket-call.received.txt").read_bytes()))
    return connect_reply_event(messages[0]), [parse_event(m) for m in messages if m.is_event]


def first(events: list[Event], name: str, status: str | None = None) -> Event:
    return next(
        e for e in events if e.name == name and (status is None or e.get("Playback-Status") == status)
    )


def of(kind: type, actions: list[a.Action]) -> list:  # type: ignore[type-arg]
    return [x for x in actions if isinstance(x, kind)]


def answered_session(
    capture: tuple[Event, list[Event]], policy: SessionPolicy = POLICY
) -> tuple[CallSession, int]:
    channel, _ = capture
    session = CallSession(replace(call_info_from_channel(channel), answered=True), policy)
    run = of(a.RunAgent, session.start(NOW))[0]
    return session, run.turn


def say(session: CallSession, turn: int, text: str) -> list[a.Render]:
    return of(a.Render, session.handle(a.AgentOutput(turn, d.Say(text)), NOW))


def test_call_info_from_the_real_connect_reply(capture: tuple[Event, list[Event]]) -> None:
    info = call_info_from_channel(capture[0])
    assert info.uuid == "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"
    assert (info.direction, info.call_type, info.answered) == (Direction.INBOUND, CallType.SIP, False)
    assert (info.caller, info.callee, info.flow, dict(info.variables)) == ("sipp", "9999", None, {})


def test_campaign_variables_and_flow_come_from_the_channel(capture: tuple[Event, list[Event]]) -> None:
    channel = capture[0]
    headers = {
        **channel.headers,
        "variable_callbridge_direction": "outbound",
        "variable_callbridge_callee": "+15551234567",
        "variable_callbridge_flow": "appointment_reminder",
        "variable_cb_var_name": "Ann%20Lee",
        "variable_cb_var_appointment_time": "Tuesday%2010%3A00",
    }
    info = call_info_from_channel(Event(headers=headers))
    assert (info.direction, info.callee, info.flow) == (
        Direction.OUTBOUND,
        "+15551234567",
        "appointment_reminder",
    )
    assert dict(info.variables) == {"name": "Ann Lee", "appointment_time": "Tuesday 10:00"}


def test_inbound_call_answers_streams_and_the_agent_greets(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(call_info_from_channel(channel), POLICY)
    start = session.start(NOW)
    assert isinstance(start[0], a.RecordStart)
    assert of(a.SendMsg, start)[0].headers == {"call-command": "execute", "execute-app-name": "answer"}

    answered = session.handle(first(events, "CHANNEL_ANSWER"), NOW)
    stream = of(a.Api, answered)[0]
    assert stream.command.startswith(f"uuid_audio_stream {session.info.uuid} start ws://127.0.0.1:8090/call/")
    assert " mono 8k '{" in stream.command  # PCMU call: the worker gets native 8 kHz
    run = of(a.RunAgent, answered)[0]
    assert isinstance(run.event, d.CallStarted) and run.context.uuid == session.info.uuid

    renders = say(session, run.turn, "Hello there. How can I help?")
    assert [(r.text, r.rate) for r in renders] == [("Hello there.", 8000), ("How can I help?", 8000)]
    session.handle(first(events, "CUSTOM"), NOW)  # mod_audio_stream::connect
    assert session.listening
    ready = session.handle(a.SpeechReady(renders[0].tag, PROMPT, duration_ms=2000), NOW)
    apis = [x.command for x in of(a.Api, ready)]
    assert apis[1] == f"uuid_broadcast {session.info.uuid} {PROMPT} aleg"
    assert "send_text" in apis[0] and '"on":true' in apis[0] and "Hello there." in apis[0]

    session.handle(first(events, "PLAYBACK_START"), NOW)
    stopped = session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    assert not of(a.RecordTurn, stopped)  # the turn still has a sentence to say
    session.handle(a.AgentDone(run.turn), NOW)


def test_sentences_play_in_order_even_when_rendered_out_of_order(capture: tuple[Event, list[Event]]) -> None:
    session, turn = answered_session(capture)
    first_piece, second = say(session, turn, "One. Two.")
    assert session.handle(a.SpeechReady(second.tag, Path("/tmp/two.wav"), 500), NOW) == []
    out = session.handle(a.SpeechReady(first_piece.tag, Path("/tmp/one.wav"), 500), NOW)
    assert [x.command.split()[2] for x in of(a.Api, out) if "broadcast" in x.command] == [
        "/tmp/one.wav",
        "/tmp/two.wav",
    ]


def play_through(session: CallSession, events: list[Event], render: a.Render) -> list[a.Action]:
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    return session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)


def test_a_finished_turn_is_recorded_with_its_latency_then_no_input_is_timed(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    [render] = say(session, turn, "Hello there.")
    session.handle(a.AgentDone(turn), NOW)
    out = play_through(session, events, render)
    recorded = of(a.RecordTurn, out)[0]
    assert (recorded.speaker, recorded.text, recorded.interrupted, recorded.heard_ms) == (
        "agent",
        "Hello there.",
        False,
        2000,
    )
    assert recorded.timings["trigger"] == "call_started" and "playback_started_ms" in recorded.timings
    assert of(a.StartTimer, out)[0].name == "no_input"


def test_hangup_waits_for_the_goodbye_to_play(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    [render] = say(session, turn, "Goodbye!")
    assert session.handle(a.AgentOutput(turn, d.Hangup()), NOW) == []
    session.handle(a.AgentDone(turn), NOW)
    out = play_through(session, events, render)
    assert of(a.SendMsg, out)[0].headers == {"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"}
    assert session.phase is Phase.HANGING_UP


def test_transfer_after_speech_to_an_extension_or_a_sip_uri(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    for destination, expected in (
        ("1000", "uuid_transfer {uuid} 1000 XML default"),
        (
            "sip:agent@pbx.example.com",
            "uuid_transfer {uuid} 'bridge:sofia/external/agent@pbx.example.com' inline",
        ),
    ):
        session, turn = answered_session(capture)
        [render] = say(session, turn, "Connecting you.")
        session.handle(a.AgentOutput(turn, d.Transfer(destination)), NOW)
        session.handle(a.AgentDone(turn), NOW)
        out = play_through(session, events, render)
        assert of(a.Api, out)[-1].command == expected.format(uuid=session.info.uuid)
        assert session.phase is Phase.TRANSFERRED
        lost = session.handle(a.ConnectionLost("socket app ended"), NOW)
        end = of(a.RecordEnd, lost)[0]
        assert (end.state, end.hangup_cause) == ("ended", "TRANSFERRED")


def worker(events: list[Event], body: str) -> Event:
    """A worker message as FreeSWITCH delivers it, timed by the ``now`` it is handled with."""
    headers = {**first(events, "CUSTOM").headers, "Event-Subclass": "mod_audio_stream::json"}
    headers.pop("Event-Date-Timestamp")
    return Event(headers=headers, body=body)


def test_barge_in_breaks_flushes_cancels_and_keeps_only_what_was_heard(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    renders = say(session, turn, "One two three four. Five six.")
    for render in renders:
        session.handle(a.SpeechReady(render.tag, Path(f"/tmp/{render.tag}.wav"), 2000), NOW)
    start = first(events, "PLAYBACK_START")
    session.handle(Event(headers={**start.headers, "Playback-File-Path": f"/tmp/{renders[0].tag}.wav"}), NOW)

    out = session.handle(worker(events, '{"type":"speech_started","start_ms":100}'), NOW)
    assert of(a.Api, out)[0].command == f"uuid_break {session.info.uuid} all"
    assert of(a.CancelAgent, out)[0].turn == turn
    assert of(a.RecordEvent, out)[-1].name == "barge_in"

    broken = first(events, "PLAYBACK_STOP", "break")
    stamp = int(start.get("Event-Date-Timestamp") or 0) + 1_000_000  # one of two seconds heard
    stop = Event(
        headers={
            **broken.headers,
            "Playback-File-Path": f"/tmp/{renders[0].tag}.wav",
            "Event-Date-Timestamp": str(stamp),
        }
    )
    out = session.handle(stop, NOW)
    recorded = of(a.RecordTurn, out)[0]
    assert recorded.interrupted and recorded.heard_ms == 1000
    assert recorded.timings["heard_text"] == "One two"
    assert session.dialogue.history[-1] == d.Turn("agent", "One two three four. Five six.", True, "One two")

    utterance = session.handle(
        worker(events, '{"type":"utterance","text":"wait a moment please","confidence":0.9}'), NOW
    )
    run = of(a.RunAgent, utterance)[0]
    assert run.event == d.Utterance("wait a moment please", 0.9)
    assert run.context.history[-1].heard_text == "One two"


def test_backchannels_do_not_cut_the_agent_off_when_words_are_required(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, turn = answered_session(capture, replace(POLICY, barge_in_min_words=3))
    [render] = say(session, turn, "Your appointment is on Tuesday at ten.")
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    assert not of(a.Api, session.handle(worker(events, '{"type":"speech_started","start_ms":1}'), NOW))
    out = session.handle(worker(events, '{"type":"utterance","text":"mm-hm","confidence":0.8}'), NOW)
    assert of(a.RecordEvent, out)[-1].name == "backchannel" and not of(a.RunAgent, out)
    out = session.handle(worker(events, '{"type":"partial","text":"no no that is wrong","start_ms":1}'), NOW)
    assert "uuid_break" in of(a.Api, out)[0].command


def test_the_agents_own_echo_is_never_answered(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture, replace(POLICY, barge_in_min_words=4))
    [render] = say(session, turn, "Which day and time would suit you?")
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    session.handle(worker(events, '{"type":"speech_started","start_ms":1}'), NOW)
    out = session.handle(
        worker(events, '{"type":"utterance","text":"which day and time would suit you","confidence":0.7}'),
        NOW,
    )
    assert of(a.RecordEvent, out)[-1].name == "echo_ignored"
    assert not of(a.RunAgent, out) and not of(a.Api, out)


def test_dtmf_is_collected_for_the_agent(capture: tuple[Event, list[Event]]) -> None:
    session, turn = answered_session(capture)
    session.handle(a.AgentOutput(turn, d.CollectDtmf(max_digits=3, timeout=4, terminator="#")), NOW)
    session.handle(a.AgentDone(turn), NOW)
    digit = Event(headers={"Event-Name": "DTMF", "Unique-ID": session.info.uuid, "DTMF-Duration": "2240"})
    assert (
        of(a.StartTimer, session.handle(Event(headers={**digit.headers, "DTMF-Digit": "4"}), NOW))[0].name
        == "dtmf"
    )
    out = session.handle(Event(headers={**digit.headers, "DTMF-Digit": "#"}), NOW)
    assert of(a.RunAgent, out)[0].event == d.Dtmf("4")


def test_no_input_asks_the_agent_then_ends_the_call_politely(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    session.handle(a.AgentDone(turn), NOW)
    first_timeout = session.handle(a.TimerFired("no_input"), NOW)
    run = of(a.RunAgent, first_timeout)[0]
    assert isinstance(run.event, d.NoInput)
    session.handle(a.AgentDone(run.turn), NOW)
    limit = session.handle(a.TimerFired("no_input"), NOW)
    [goodbye] = of(a.Render, limit)
    assert goodbye.text == "Bye now."
    out = play_through(session, events, goodbye)
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"


def test_agent_errors_are_recorded_on_the_turn(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    out = session.handle(a.AgentOutput(turn, d.AgentError("first_token", "no token in 3 s")), NOW)
    assert of(a.RecordEvent, out)[0].detail == {"kind": "first_token", "detail": "no token in 3 s"}
    [render] = say(session, turn, "Sorry, one moment.")
    session.handle(a.AgentDone(turn), NOW)
    recorded = of(a.RecordTurn, play_through(session, events, render))[0]
    assert recorded.timings["errors"] == ["first_token"]


def test_hangup_before_answer_closes_the_record(capture: tuple[Event, list[Event]]) -> None:
    channel, events = capture
    session = CallSession(call_info_from_channel(channel), POLICY)
    session.start(NOW)
    done = session.handle(first(events, "CHANNEL_HANGUP_COMPLETE"), NOW)
    end = of(a.RecordEnd, done)[0]
    assert end.hangup_cause == "NORMAL_CLEARING" and end.state == "ended"
    assert end.billsec == int(first(events, "CHANNEL_HANGUP_COMPLETE").variable("billsec") or -1)
    assert not of(a.RecordAnswered, done) and of(a.Finish, done)


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
    session, turn = answered_session(capture)
    one, two = say(session, turn, "One. Two.")
    session.handle(a.AgentDone(turn), NOW)
    session.handle(a.SpeechReady(one.tag, PROMPT, 2000), NOW)
    session.handle(a.CommandResult(one.tag, False, "-ERR invalid uuid"), NOW)
    out = session.handle(a.SpeechReady(two.tag, None, error="voice missing"), NOW)
    assert of(a.RecordEvent, out)[0].name == "tts_failed"
    assert of(a.StartTimer, out)[0].name == "no_input"


def test_events_of_other_calls_and_garbage_from_the_worker_are_ignored(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, _ = answered_session(capture)
    other = Event(
        headers={
            **first(events, "CHANNEL_HANGUP").headers,
            "Unique-ID": "00000000-0000-0000-0000-000000000000",
        }
    )
    assert session.handle(other, NOW) == []
    assert of(a.RecordEvent, session.handle(worker(events, "{oops"), NOW))[0].name == "worker_message_invalid"
    assert session.phase is Phase.ACTIVE


def test_webrtc_calls_render_and_stream_wideband() -> None:
    info = CallInfo(
        "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1",
        Direction.INBOUND,
        CallType.WEBRTC,
        "a",
        "b",  # type: ignore[arg-type]
        None,
        None,
        True,
        48000,
        "verto.rtc/x",
    )
    session = CallSession(info, POLICY)
    out = session.start(NOW)
    assert " mono 16k " in of(a.Api, out)[0].command
    assert say(session, of(a.RunAgent, out)[0].turn, "Hi.")[0].rate == 16000


def outbound_with_amd(capture: tuple[Event, list[Event]], action: str) -> CallSession:
    headers = {
        **capture[0].headers,
        "variable_callbridge_direction": "outbound",
        "variable_callbridge_amd": action,
    }
    info = replace(call_info_from_channel(Event(headers=headers)), answered=True)
    assert info.amd == action
    return CallSession(info, POLICY)


def at(seconds: float) -> datetime:
    return NOW.replace(microsecond=0) + timedelta(seconds=seconds)


def test_a_human_is_greeted_after_a_short_hello(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session = outbound_with_amd(capture, "hangup")
    out = session.start(NOW)
    assert not of(a.RunAgent, out) and of(a.StartTimer, out)[-1].name == "amd"
    # mod_avmd through its application: 1.10.12's "avmd <uuid> start" API never detects a beep
    started = {"call-command": "execute", "execute-app-name": "avmd_start"}
    assert started in [m.headers for m in of(a.SendMsg, out)]
    session.handle(worker(events, '{"type":"speech_started","start_ms":300}'), at(0.3))
    session.handle(
        worker(
            events,
            '{"type":"speech_stopped","start_ms":300,"end_ms":900,"decided_ms":1400,"reason":"silence"}',
        ),
        at(0.9),
    )
    out = session.handle(a.TimerFired("amd"), at(1.8))
    assert of(a.RecordEvent, out)[0].detail["verdict"] == "human"
    assert (
        "uuid_setvar" in of(a.Api, out)[0].command
        and "callbridge_amd_verdict human" in of(a.Api, out)[0].command
    )
    assert isinstance(of(a.RunAgent, out)[0].event, d.CallStarted)


def test_the_hello_amd_heard_is_not_answered_as_the_first_reply(capture: tuple[Event, list[Event]]) -> None:
    """The verdict can come before the greeting's transcript; that "Hello?" is not an answer to the agent."""
    _, events = capture
    session = outbound_with_amd(capture, "hangup")
    session.start(NOW)
    session.handle(worker(events, '{"type":"speech_started","start_ms":300}'), at(0.3))
    stopped = '{"type":"speech_stopped","start_ms":300,"end_ms":900,"decided_ms":1700,"reason":"silence"}'
    session.handle(worker(events, stopped), at(1.7))
    out = session.handle(a.TimerFired("amd"), at(1.8))
    assert isinstance(of(a.RunAgent, out)[0].event, d.CallStarted)
    late = (
        '{"type":"utterance","text":"Hello?","confidence":0.9,"start_ms":300,"end_ms":900,'
        '"decided_ms":1900,"stt_ms":300,"engine":"whisper","reason":"silence"}'
    )
    out = session.handle(worker(events, late), at(2.2))
    assert not of(a.RunAgent, out) and not of(a.RecordTurn, out)
    assert [e.name for e in of(a.RecordEvent, out)] == ["greeting_heard_by_amd"]
    # What the callee says after the verdict is the conversation.
    session.handle(worker(events, '{"type":"speech_started","start_ms":4000}'), at(4.0))
    reply = (
        '{"type":"utterance","text":"Yes, speaking.","confidence":0.9,"start_ms":4000,"end_ms":4800,'
        '"decided_ms":5600,"stt_ms":300,"engine":"whisper","reason":"silence"}'
    )
    out = session.handle(worker(events, reply), at(5.9))
    assert [t.text for t in of(a.RecordTurn, out)] == ["Yes, speaking."]


def test_a_machine_is_hung_up_on_or_left_a_voicemail_after_its_greeting(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    greeting = '{"type":"utterance","text":"Hi, you have reached Ann, please leave a message after the tone","confidence":0.9}'
    hangup = outbound_with_amd(capture, "hangup")
    hangup.start(NOW)
    hangup.handle(worker(events, '{"type":"speech_started","start_ms":200}'), at(0.2))
    out = hangup.handle(worker(events, greeting), at(2.0))
    assert of(a.RecordEvent, out)[0].detail["verdict"] == "machine"
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"

    voicemail = outbound_with_amd(capture, "voicemail")
    voicemail.start(NOW)
    voicemail.handle(worker(events, '{"type":"speech_started","start_ms":200}'), at(0.2))
    out = voicemail.handle(worker(events, greeting), at(2.0))
    assert of(a.RecordEvent, out)[0].detail["verdict"] == "machine" and not of(a.RunAgent, out)
    voicemail.handle(
        worker(
            events,
            '{"type":"speech_stopped","start_ms":200,"end_ms":4000,"decided_ms":4500,"reason":"silence"}',
        ),
        at(4.0),
    )
    assert not of(a.RunAgent, voicemail.handle(a.TimerFired("amd"), at(4.5)))  # the beep may still come
    out = voicemail.handle(a.TimerFired("amd"), at(5.5))
    assert isinstance(of(a.RunAgent, out)[0].event, d.MachineAnswered)


def test_a_pending_hangup_survives_an_utterance_during_the_goodbye(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, turn = answered_session(capture, replace(POLICY, barge_in_min_words=5))
    [render] = say(session, turn, "Goodbye!")
    session.handle(a.AgentOutput(turn, d.Hangup()), NOW)
    session.handle(a.AgentDone(turn), NOW)
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    out = session.handle(worker(events, '{"type":"utterance","text":"ok thanks bye","confidence":0.9}'), NOW)
    assert of(a.RecordEvent, out)[-1].name == "backchannel"
    out = session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"


def test_no_input_is_not_timed_while_the_caller_is_still_speaking(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    [render] = say(session, turn, "Hello there.")
    session.handle(a.AgentDone(turn), NOW)
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    session.handle(worker(events, '{"type":"speech_started","start_ms":100}'), NOW)  # barges in
    out = session.handle(first(events, "PLAYBACK_STOP", "break"), NOW)
    assert not [x for x in of(a.StartTimer, out) if x.name == "no_input"]
    out = session.handle(
        worker(
            events,
            '{"type":"speech_stopped","start_ms":100,"end_ms":900,"decided_ms":1400,"reason":"silence"}',
        ),
        NOW,
    )
    assert of(a.StartTimer, out)[0].name == "no_input"  # noise with no words still ends in a no-input


def test_the_first_sentence_plays_before_the_last_is_rendered(capture: tuple[Event, list[Event]]) -> None:
    session, turn = answered_session(capture)
    first_piece, _, last = say(session, turn, "One moment please. Let me look that up for you. Here it is.")
    out = session.handle(a.SpeechReady(first_piece.tag, Path("/tmp/one.wav"), 900), NOW)
    assert of(a.Api, out)[0].command == f"uuid_broadcast {session.info.uuid} /tmp/one.wav aleg"
    assert session.dialogue.speech.get(last.tag) is not None  # still rendering while the first one plays


def test_agent_tools_become_esl_commands(capture: tuple[Event, list[Event]]) -> None:
    session, turn = answered_session(capture)
    out = session.handle(a.AgentOutput(turn, d.SendDtmf("1234#")), NOW)
    assert of(a.Api, out)[0].command == f"uuid_send_dtmf {session.info.uuid} 1234#"


def test_a_late_transcript_before_the_goodbye_starts_does_not_cancel_the_hangup(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    [render] = say(session, turn, "Goodbye!")
    session.handle(a.AgentOutput(turn, d.Hangup()), NOW)
    session.handle(a.AgentDone(turn), NOW)
    # The caller's last words are transcribed while the goodbye is still rendering: a new (empty) turn runs.
    late = session.handle(
        worker(events, '{"type":"utterance","text":"sorry what was that","confidence":0.9}'), NOW
    )
    late_turn = of(a.RunAgent, late)[0].turn
    session.handle(a.AgentDone(late_turn), NOW)
    session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    session.handle(first(events, "PLAYBACK_START"), NOW)
    out = session.handle(first(events, "PLAYBACK_STOP", "done"), NOW)
    assert of(a.SendMsg, out)[0].headers["call-command"] == "hangup"


def playing_session(
    capture: tuple[Event, list[Event]], policy: SessionPolicy = POLICY
) -> tuple[CallSession, a.Render, Event]:
    """A listening call whose agent is playing a two-second sentence; returns the PLAYBACK_START event."""
    _, events = capture
    session, turn = answered_session(capture, policy)
    session.handle(first(events, "CUSTOM"), NOW)  # mod_audio_stream::connect
    [render] = say(session, turn, "Your appointment is on Tuesday at ten.")
    session.handle(a.AgentDone(turn), NOW)
    ready = session.handle(a.SpeechReady(render.tag, PROMPT, 2000, levels=(-30, -24, -90)), NOW)
    notice = next(x.command for x in of(a.Api, ready) if x.tag == "playback_on")
    assert f'"id":"{render.tag}"' in notice and '"levels":[-30,-24,-90]' in notice
    start = first(events, "PLAYBACK_START")
    started = session.handle(start, NOW)
    assert any(x.tag == "playback_started" and render.tag in x.command for x in of(a.Api, started))
    return session, render, start


def later(start: Event, seconds: float) -> datetime:
    return datetime.fromtimestamp(int(start.get("Event-Date-Timestamp") or 0) / 1e6 + seconds, tz=UTC)


def stopped(events: list[Event], start: Event, status: str, seconds: float) -> Event:
    stamp = int(start.get("Event-Date-Timestamp") or 0) + int(seconds * 1_000_000)
    return Event(
        headers={**first(events, "PLAYBACK_STOP", status).headers, "Event-Date-Timestamp": str(stamp)}
    )


def test_an_onset_pauses_the_agent_and_confirmed_speech_cuts_it(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, _render, start = playing_session(capture)
    uuid = session.info.uuid
    out = session.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), later(start, 1.0))
    assert next(x.command for x in of(a.Api, out)) == f"uuid_fileman {uuid} pause"
    assert any(x.tag == "playback_paused" for x in of(a.Api, out))
    assert of(a.StartTimer, out)[0].name == "pause_guard"
    assert of(a.RecordEvent, out)[-1].name == "playback_paused"
    # A second onset while paused must not toggle the pause back off.
    assert not session.handle(worker(events, '{"type":"speech_onset","start_ms":950}'), later(start, 1.1))

    out = session.handle(worker(events, '{"type":"speech_started","start_ms":900}'), later(start, 1.5))
    commands = [x.command for x in of(a.Api, out)]
    assert commands[0] == f"uuid_break {uuid} all" and '"on":false' in commands[1]
    assert "pause_guard" in [x.name for x in of(a.CancelTimer, out)]
    recorded = of(a.RecordTurn, session.handle(stopped(events, start, "break", 1.5), NOW))[0]
    assert recorded.interrupted and recorded.heard_ms == 1000  # 1.5 s on the channel, 0.5 s of it paused


def test_a_backchannel_pauses_then_resumes_the_agent_which_finishes(
    capture: tuple[Event, list[Event]],
) -> None:
    _, events = capture
    session, _render, start = playing_session(capture)
    uuid = session.info.uuid
    session.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), later(start, 1.0))
    out = session.handle(worker(events, '{"type":"speech_cancelled","start_ms":900}'), later(start, 1.4))
    assert of(a.Api, out)[0].command == f"uuid_fileman {uuid} pause" and of(a.Api, out)[0].tag == "resume"
    assert any(x.tag == "playback_resumed" for x in of(a.Api, out))
    assert of(a.RecordEvent, out)[-1].detail == {"by": "short_speech"}
    assert not any("uuid_break" in x.command for x in of(a.Api, out))
    recorded = of(a.RecordTurn, session.handle(stopped(events, start, "done", 2.4), NOW))[0]
    assert not recorded.interrupted and recorded.heard_ms == 2000


def test_a_paused_agent_resumes_by_itself_when_no_decision_comes(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, _render, start = playing_session(capture)
    session.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), later(start, 1.0))
    out = session.handle(a.TimerFired("pause_guard"), later(start, 3.0))
    assert of(a.RecordEvent, out)[-1].detail == {"by": "timeout"}
    assert of(a.Api, out)[0].tag == "resume"


def test_a_pause_that_found_no_file_leaves_the_agent_unpaused(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, _render, start = playing_session(capture)
    session.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), later(start, 1.0))
    out = session.handle(a.CommandResult("pause", False, "-ERR No file handle!"), later(start, 1.0))
    assert any(x.tag == "playback_resumed" for x in of(a.Api, out)) and not session.dialogue.paused
    again = session.handle(worker(events, '{"type":"speech_onset","start_ms":1200}'), later(start, 1.3))
    assert of(a.Api, again)[0].command.endswith(" pause")


def test_onsets_are_ignored_when_pausing_is_off_or_nothing_plays(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, _render, start = playing_session(capture, replace(POLICY, barge_in_pause=False))
    assert not session.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), later(start, 1.0))
    idle, _turn = answered_session(capture)
    assert not idle.handle(worker(events, '{"type":"speech_onset","start_ms":900}'), NOW)


def test_an_early_transcript_asks_for_the_reply_to_be_rehearsed(capture: tuple[Event, list[Event]]) -> None:
    _, events = capture
    session, turn = answered_session(capture)
    session.handle(a.AgentDone(turn), NOW)
    hypothesis = '{"type":"hypothesis","text":"book me for friday","start_ms":100,"end_ms":900}'
    [rehearse] = of(a.Rehearse, session.handle(worker(events, hypothesis), NOW))
    assert rehearse.event == d.Utterance("book me for friday") and rehearse.rate == session.speech_rate
    assert not of(a.RunAgent, session.handle(worker(events, hypothesis), NOW))  # nothing is said yet
    quiet, _ = answered_session(capture, replace(POLICY, rehearse_replies=False))
    assert not quiet.handle(worker(events, hypothesis), NOW)


def test_sentences_can_be_queued_with_sendmsg_instead_of_uuid_broadcast(
    capture: tuple[Event, list[Event]],
) -> None:
    session, turn = answered_session(capture, replace(POLICY, playback_command="execute"))
    [render] = say(session, turn, "Hello there.")
    out = session.handle(a.SpeechReady(render.tag, PROMPT, 2000), NOW)
    [message] = of(a.SendMsg, out)
    assert message.tag == render.tag and not of(a.Api, out)
    assert message.headers == {
        "call-command": "execute",
        "execute-app-name": "playback",
        "execute-app-arg": str(PROMPT),
        "event-lock": "true",
    }
    failed = session.handle(a.CommandResult(render.tag, False, "-ERR no reply"), NOW)
    assert of(a.RecordEvent, failed)[0].detail == {"command": "playback", "reply": "-ERR no reply"}


def test_sentences_are_queued_with_sendmsg_by_default() -> None:
    """On FreeSWITCH 1.10.12 uuid_broadcast started each sentence ~100 ms later (bench/latency.py
    --freeswitch, docs/benchmarks.md): the shipped default is the socket's sendmsg playback."""
    assert SessionPolicy(media_url="ws://127.0.0.1:8090").playback_command == "execute"
    assert Settings.model_fields["playback_command"].default == "execute"
