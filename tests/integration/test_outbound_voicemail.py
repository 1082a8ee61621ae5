"""An outbound campaign call answered by a machine: screened, then the flow's voicemail is left.

The machine's greeting is Piper at 8 kHz, optionally ending with a beep (half a second after the words,
1 kHz for 600 ms): the stand-in's mod_avmd hears it and the message goes out on the beep.
"""

from __future__ import annotations

import uuid
import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from app.control.amd import AmdConfig
from app.control.screening import TICK_SECONDS
from app.esl import commands
from app.esl.inbound import Backoff, InboundClient
from app.sim.originate import Endpoint
from app.sim.switch import FakeSwitch
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack

MACHINE = "Hi, you have reached Ann. I can't take your call right now. Please leave a message after the tone."
RATE = 8000
LEAD = 2400  # 300 ms before the greeting
BEEP_GAP = RATE // 2
BEEP = RATE * 6 // 10


def machine_greeting(path: Path, *, beep: bool = False) -> Path:
    """The greeting, then (``beep``) half a second of silence and a 1 kHz beep, then 20 s of silence."""
    speech = PiperTTS().synthesize(MACHINE).resampled(RATE).samples
    ending: list[np.ndarray] = []
    if beep:
        t = np.arange(BEEP) / RATE
        ending = [
            np.zeros(BEEP_GAP, np.int16),
            np.round(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16),
        ]
    audio = np.concatenate([np.zeros(LEAD, np.int16), speech, *ending, np.zeros(RATE * 20, np.int16)])
    write_wav(path, Audio(audio, RATE))
    return path


def call_machine(stack: Stack, switch: FakeSwitch, greeting: Path) -> str:
    """Dial a campaign call (answering machines get the voicemail) to a far end that plays ``greeting``."""
    switch.add_endpoint(r"sofia/gateway/twilio/\+15551234567", Endpoint(caller_audio=greeting))
    esl = InboundClient("127.0.0.1", switch.esl_port, switch.password, backoff=Backoff(0.05, 0.2))
    esl.start()
    call_id = str(uuid.uuid4())
    try:
        assert esl.wait_connected(5)
        originate = commands.originate(
            {
                "origination_uuid": call_id,
                "call_type": "sip",
                "callbridge_direction": "outbound",
                "callbridge_callee": "+15551234567",
                "callbridge_flow": "appointment_reminder",
                "callbridge_amd": "voicemail",
                "cb_var_name": "Ann",
                "cb_var_appointment_time": "Tuesday",
            },
            ["sofia/gateway/twilio/+15551234567"],
            commands.socket_application("127.0.0.1", stack.controller_port),
        )
        assert esl.bgapi(originate).get(timeout=15).startswith("+OK")
        assert stack.controller_finished(call_id, timeout=60)
    finally:
        esl.stop()
    return call_id


def test_machine_answers_and_the_reminder_is_left_as_voicemail(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    call_id = call_machine(stack, switch, machine_greeting(tmp_path / "vm.wav"))
    record = stack.call_log.get_call(call_id)
    assert record is not None
    assert (record.direction, record.callee, record.state, record.hangup_cause) == (
        "outbound",
        "+15551234567",
        "ended",
        "NORMAL_CLEARING",
    )
    verdicts = [e.detail for e in stack.call_log.events(call_id) if e.name == "amd"]
    assert verdicts and verdicts[0]["verdict"] == "machine"
    agent = [t for t in stack.call_log.turns(call_id) if t.speaker == "agent"]
    assert len(agent) == 1
    assert agent[0].text.startswith("Hello Ann, this is Bright Smile Dental reminding you")
    assert (agent[0].timings or {})["trigger"] == "voicemail" and not agent[0].interrupted
    channel = switch.find_call(call_id)
    assert channel is not None and channel.variables.get("callbridge_amd_verdict") == "machine"


def test_a_greeting_that_ends_in_a_beep_gets_the_voicemail_after_the_beep(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    greeting = machine_greeting(tmp_path / "beep.wav", beep=True)
    call_id = call_machine(stack, switch, greeting)

    events = stack.call_log.events(call_id)
    names = [e.name for e in events]
    assert [e.detail["verdict"] for e in events if e.name == "amd"] == ["machine"]
    # FreeSWITCH 1.10.12 delivers mod_avmd's beep twice (the parked session fires its queued copy too)
    beep, again = [e for e in events if e.name == "avmd_beep"]
    assert float(beep.detail["frequency"]) == pytest.approx(1000, abs=5)
    assert (again.occurred_at - beep.occurred_at).total_seconds() < 0.1
    assert names.index("amd") < names.index("avmd_beep")  # the words decided; the beep ended the wait
    agent = [t for t in stack.call_log.turns(call_id) if t.speaker == "agent"]
    timings = agent[0].timings or {}
    assert len(agent) == 1 and timings["trigger"] == "voicemail"
    origin = agent[0].started_at - timedelta(milliseconds=float(timings["playback_started_ms"]))
    # the turn began on the beep, once the rest of it had sounded (the screen's next tick after that)
    waited = (origin - beep.occurred_at).total_seconds()
    assert AmdConfig().after_beep <= waited < AmdConfig().after_beep + 2 * TICK_SECONDS

    call = switch.find_call(call_id)
    assert call is not None and call.recording_path is not None
    with wave.open(str(call.recording_path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    heard, played = stereo[:, 0].astype(np.int32), stereo[:, 1].astype(np.int32)
    with wave.open(str(greeting)) as wav:
        beep_start = wav.getnframes() - RATE * 20 - BEEP  # where the beep begins in the far end's audio
    beep_end = beep_start + BEEP
    # the recording's timeline is the greeting's: silence, then the beep, where the greeting has them
    assert np.abs(heard[beep_start - 800 : beep_start]).max() < 500
    assert np.abs(heard[beep_start:beep_end]).max() > 7000
    spoke = int(np.flatnonzero(np.abs(played) > 500)[0])
    # The message is heard once the beep is over (an answering machine records only after it).
    assert beep_end <= spoke < beep_end + 2 * RATE, (beep_end / RATE, spoke / RATE)
