"""A caller who talks over the agent's greeting stops it: real VAD, real uuid_break, real heard time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.sim.switch import FakeSwitch
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack
from tests.stack import stack_settings

FLOW = Path(__file__).resolve().parent / "data" / "long_greeting.yaml"
INTERRUPTION = "Sorry to interrupt, I just want to book an appointment for tomorrow."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return stack_settings(tmp_path, FLOW, no_input_timeout="3", max_no_input="1")


def test_speaking_over_the_agent_stops_it_and_keeps_what_was_heard(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    rate = 8000
    speech = PiperTTS().synthesize(INTERRUPTION).resampled(rate).samples
    caller = tmp_path / "caller.wav"
    write_wav(caller, Audio(np.concatenate([np.zeros(3 * rate, np.int16), speech, np.zeros(15 * rate, np.int16)]), rate))

    call = switch.place_call(
        destination="+15557654321",
        caller_id_number="+15551230000",
        socket=f"127.0.0.1:{stack.controller_port} async full",
        variables={"call_type": "sip"},
        caller_audio=caller,
        rate=rate,
    )
    assert call.wait_ended(60)
    assert stack.controller_finished(call.uuid, timeout=10)

    events = [e.name for e in stack.call_log.events(call.uuid)]
    assert "barge_in" in events
    stops = [(e.detail or {})["status"] for e in stack.call_log.events(call.uuid) if e.name == "PLAYBACK_STOP"]
    assert stops.count("break") == 1 and stops[-1] == "done"  # one sentence cut, then the goodbye

    greeting, *rest = stack.call_log.turns(call.uuid)
    assert greeting.speaker == "agent" and greeting.interrupted
    heard = str((greeting.timings or {})["heard_text"])
    assert heard and len(heard.split()) < len(greeting.text.split())
    assert greeting.heard_ms is not None and 2000 < greeting.heard_ms < 6000  # the caller spoke from 3 s on
    caller_turns = [t for t in rest if t.speaker == "caller"]
    assert caller_turns and "appointment" in caller_turns[0].text.lower()
    assert rest[-1].speaker == "agent" and rest[-1].text == "Goodbye."
