"""Turn-taking on a whole call against the stand-in: the agent stops within 300 ms of a caller talking over
it (stand-in timeline), a backchannel only pauses it, and its own voice echoed back at -10 dB is never
taken for the caller. Real Silero VAD, Whisper, Piper; the stand-in's stereo recording is the timeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.sim.switch import FakeSwitch, LineEcho, SimCall
from app.sim.timeline import first_sound, read_recording, silent_from
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack
from tests.stack import stack_settings

FLOW = Path(__file__).resolve().parent / "data" / "long_greeting.yaml"
RATE = 8000
SPEAKS_AT = 3.0  # seconds after answer: the greeting is still playing
ECHO = LineEcho(gain_db=-10, delay_ms=60)
STOP_WITHIN_MS = 300


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    playback = getattr(request, "param", "broadcast")
    return stack_settings(tmp_path, FLOW, no_input_timeout="2", max_no_input="1", playback_command=playback)


def caller_wav(tmp_path: Path, text: str | None) -> tuple[Path, int | None]:
    """The caller's side: silence, then ``text`` at SPEAKS_AT; returns the WAV and the speech onset sample."""
    silence = np.zeros(int(SPEAKS_AT * RATE), np.int16)
    parts, onset = [silence], None
    if text is not None:
        speech = PiperTTS().synthesize(text).resampled(RATE).samples
        onset = len(silence) + int(np.argmax(np.abs(speech) > 500))
        parts.append(speech)
    parts.append(np.zeros(25 * RATE, np.int16))
    path = tmp_path / "caller.wav"
    write_wav(path, Audio(np.concatenate(parts), RATE))
    return path, onset


def place(switch: FakeSwitch, stack: Stack, caller: Path, echo: LineEcho | None) -> SimCall:
    call = switch.place_call(
        destination="+15557654321",
        socket=f"127.0.0.1:{stack.controller_port} async full",
        variables={"call_type": "sip"},
        caller_audio=caller,
        rate=RATE,
        line_echo=echo,
    )
    assert call.wait_ended(90)
    assert stack.controller_finished(call.uuid, timeout=10)
    return call


def agent_channel(call: SimCall) -> np.ndarray:
    """What the caller heard (the recording's right channel), at the channel rate."""
    assert call.recording_path is not None
    recording = read_recording(call.recording_path)
    assert recording.rate == RATE
    return recording.agent


def stopped_after(heard: np.ndarray, onset: int) -> int:
    stopped = silent_from(heard, onset, RATE)
    assert stopped is not None, "the agent never fell silent"
    return stopped


def event_names(stack: Stack, uuid: str) -> list[str]:
    return [e.name for e in stack.call_log.events(uuid)]


@pytest.mark.parametrize(
    ("echo", "settings"),
    [(None, "broadcast"), (ECHO, "broadcast"), (ECHO, "execute")],
    ids=["clean_line", "echo_-10dB", "echo_-10dB_sendmsg_playback"],
    indirect=["settings"],
)
def test_talking_over_the_agent_stops_it_within_300_ms_of_the_onset(
    stack: Stack, switch: FakeSwitch, tmp_path: Path, echo: LineEcho | None
) -> None:
    caller, onset = caller_wav(tmp_path, "Sorry to interrupt, I want to book an appointment for tomorrow.")
    assert onset is not None
    call = place(switch, stack, caller, echo)

    heard = agent_channel(call)
    assert np.abs(heard[onset - RATE // 2 : onset]).max() > 1000  # the agent was talking
    stopped = stopped_after(heard, onset)
    assert (stopped - onset) * 1000 // RATE <= STOP_WITHIN_MS

    events = event_names(stack, call.uuid)
    assert events.index("playback_paused") < events.index("barge_in")
    greeting = stack.call_log.turns(call.uuid)[0]
    assert greeting.speaker == "agent" and greeting.interrupted and greeting.heard_ms is not None
    # What was heard is what played before the pause (the pause itself is not heard), give or take a
    # frame. The controller times it on the wall clock, the recording on the media clock: a busy machine
    # delays the stand-in's clock greenlet, and that lag (measured) is allowed on top.
    started = first_sound(heard, level=64)
    assert started is not None
    allowed = 250 + call.media_clock_error_ms
    assert abs(greeting.heard_ms - (stopped - started) * 1000 // RATE) <= allowed
    caller_turns = [t for t in stack.call_log.turns(call.uuid) if t.speaker == "caller"]
    assert caller_turns and "appointment" in caller_turns[0].text.lower()


def test_a_backchannel_only_pauses_the_agent_which_then_finishes(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    caller, onset = caller_wav(tmp_path, "Okay.")
    assert onset is not None
    call = place(switch, stack, caller, ECHO)

    events = event_names(stack, call.uuid)
    assert "playback_paused" in events and "barge_in" not in events
    resumed = [e for e in stack.call_log.events(call.uuid) if e.name == "playback_resumed"]
    assert resumed and (resumed[0].detail or {})["by"] == "short_speech"
    greeting = stack.call_log.turns(call.uuid)[0]
    assert greeting.speaker == "agent" and not greeting.interrupted
    assert not [t for t in stack.call_log.turns(call.uuid) if t.speaker == "caller"]
    heard = agent_channel(call)
    stopped = stopped_after(heard, onset)
    assert (stopped - onset) * 1000 // RATE <= STOP_WITHIN_MS  # paused at once...
    assert np.abs(heard[stopped : stopped + 3 * RATE]).max() > 1000  # ...and talking again soon after


def test_the_agents_own_echo_never_interrupts_it_and_is_never_answered(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    caller, _ = caller_wav(tmp_path, None)
    call = place(switch, stack, caller, ECHO)

    events = event_names(stack, call.uuid)
    for never in ("playback_paused", "barge_in", "speech_started", "echo_ignored", "backchannel"):
        assert never not in events, f"{never} on a silent caller with a -10 dB echo: {events}"
    turns = stack.call_log.turns(call.uuid)
    assert [t.speaker for t in turns] == ["agent"] * len(turns) and len(turns) >= 2
    assert not any(t.interrupted for t in turns)
    assert turns[-1].text == "Goodbye."
