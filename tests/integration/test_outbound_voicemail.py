"""An outbound campaign call answered by a machine: screened, then the flow's voicemail is left."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from app.esl import commands
from app.esl.inbound import Backoff, InboundClient
from app.sim.originate import Endpoint
from app.sim.switch import FakeSwitch
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack

MACHINE = "Hi, you have reached Ann. I can't take your call right now. Please leave a message after the tone."


def machine_greeting(path: Path) -> Path:
    speech = PiperTTS().synthesize(MACHINE).resampled(8000).samples
    write_wav(path, Audio(np.concatenate([np.zeros(2400, np.int16), speech, np.zeros(8000 * 20, np.int16)]), 8000))
    return path


def test_machine_answers_and_the_reminder_is_left_as_voicemail(
    stack: Stack, switch: FakeSwitch, tmp_path: Path
) -> None:
    switch.add_endpoint(r"sofia/gateway/twilio/\+15551234567", Endpoint(caller_audio=machine_greeting(tmp_path / "vm.wav")))
    esl = InboundClient("127.0.0.1", switch.esl_port, switch.password, backoff=Backoff(0.05, 0.2))
    esl.start()
    try:
        assert esl.wait_connected(5)
        call_id = str(uuid.uuid4())
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

    record = stack.call_log.get_call(call_id)
    assert record is not None
    assert (record.direction, record.callee, record.state, record.hangup_cause) == (
        "outbound", "+15551234567", "ended", "NORMAL_CLEARING",
    )
    verdicts = [e.detail for e in stack.call_log.events(call_id) if e.name == "amd"]
    assert verdicts and verdicts[0]["verdict"] == "machine"
    agent = [t for t in stack.call_log.turns(call_id) if t.speaker == "agent"]
    assert len(agent) == 1
    assert agent[0].text.startswith("Hello Ann, this is Bright Smile Dental reminding you")
    assert (agent[0].timings or {})["trigger"] == "voicemail" and not agent[0].interrupted
    channel = switch.find_call(call_id)
    assert channel is not None and channel.variables.get("callbridge_amd_verdict") == "machine"
