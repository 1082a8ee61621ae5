"""A caller who sends no RTP: what the real switch does with what the controller queues meanwhile.

On FreeSWITCH 1.10.12 a channel parked by ``socket ... async full`` runs what is queued for it (a
``uuid_broadcast`` is an ``execute`` message) from its media loop, between frames read from the caller.
When the caller's RTP stops, that loop stops: ``uuid_broadcast`` still answers ``+OK Message sent``, but
no CHANNEL_EXECUTE or PLAYBACK_START follows while no packet arrives, and mod_audio_stream forwards
nothing either (media bugs are not given the comfort-noise frames). The stand-in plays regardless.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings
from app.wiring import Stack
from tests.realswitch import sipp
from tests.realswitch.harness import RealSwitch
from tests.realswitch.tap import Tap, joined, read_blocks
from tests.realswitch.waits import only_call

pytestmark = pytest.mark.skipif(
    sipp.SIPP is None, reason="sipp is not installed (apt-get install sip-tester)"
)


@pytest.fixture
def real_settings(real_settings: Settings) -> Settings:
    """Sentences queued with ``uuid_broadcast`` (the capture realswitch-broadcast-without-rtp); the default
    ``sendmsg`` playback is queued the same way, and the contract tests play with it."""
    return real_settings.model_copy(update={"playback_command": "broadcast"})


def test_nothing_queued_plays_while_the_caller_sends_no_rtp(
    real_switch: RealSwitch, real_stack: Stack, tap: Tap, short_caller_wav: Path, tmp_path: Path
) -> None:
    # RTP stops 2.5 s in; the no-input prompt is due about 2.5 s after the greeting; the caller hangs up at 9 s.
    result = sipp.call(
        tmp_path / "sipp", number="15555550100", port=real_switch.ports.external_sip,
        audio_wav=short_caller_wav, hangs_up_after_ms=9000,
    )  # fmt: skip
    assert result.ok, result.output + result.messages
    record = only_call(real_stack.call_log)
    assert real_stack.controller_finished(record.uuid, timeout=10)
    assert record.hangup_cause == "NORMAL_CLEARING"  # the caller's BYE

    turns = real_stack.call_log.turns(record.uuid)
    assert [(t.text, t.interrupted, t.heard_ms) for t in turns][1:] == [("Bye.", True, 0)]
    (transcript,) = tap.transcripts
    sent, received = joined(transcript, "sent"), joined(transcript, "received")
    broadcasts = re.findall(r"^api uuid_broadcast \S+ (\S+) aleg$", sent, re.MULTILINE)
    assert len(broadcasts) == 3  # "Hello.", "Say something.", then "Bye." after the RTP stopped
    assert received.count("+OK Message sent") == 3  # every one accepted...
    assert received.count("Event-Name: PLAYBACK_START") == 2  # ...the last never started
    assert broadcasts[2] not in received.split("Event-Name: CHANNEL_HANGUP\n")[0]


def test_what_was_queued_starts_when_the_packets_come_back(
    real_switch: RealSwitch, real_stack: Stack, tap: Tap, silence_wav: Path, tmp_path: Path
) -> None:
    # Silence as RTP, none at all from 2.5 s to 8 s after the answer; the goodbye is queued about 4.3 s in.
    result = sipp.call(
        tmp_path / "sipp", number="15555550100", port=real_switch.ports.external_sip, audio_wav=silence_wav,
        rtp_gap=(2500, 5500), hangs_up_after_ms=None, timeout_s=40,
    )  # fmt: skip
    assert result.ok, result.output + result.messages
    record = only_call(real_stack.call_log)
    assert real_stack.controller_finished(record.uuid, timeout=10)
    assert record.hangup_cause == "NORMAL_CLEARING"  # the agent's, after its goodbye
    (transcript,) = tap.transcripts
    broadcasts, starts = [], []
    for direction, at, chunk in read_blocks(transcript):
        text = chunk.decode(errors="replace")
        if direction == "sent" and "api uuid_broadcast" in text:
            broadcasts.append(at)
        starts += [at] * text.count("Event-Name: PLAYBACK_START\n")
    assert len(broadcasts) == len(starts) == 3
    assert broadcasts[2] < 7.0  # queued during the gap...
    assert starts[2] > 7.5  # ...started only when the packets came back (8 s after the answer)
