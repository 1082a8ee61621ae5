"""The stand-in's mod_avmd (FreeSWITCH 1.10.12): API replies, events, and the beep in the far end's audio."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path

import gevent
import numpy as np
import pytest

from app.sim.avmd import SYNTAX
from app.sim.switch import Endpoint, FakeSwitch
from app.tts.base import Audio, write_wav
from tests.sim.esl_client import EslClient
from tests.sim.test_tone import RATE, silence, speech, tone
from tests.sim.transcript import Message

PASSWORD = "pw"
NUMBER = "+15551234567"


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD) as fake:
        yield fake


@pytest.fixture
def client(switch: FakeSwitch) -> Iterator[EslClient]:
    esl = EslClient.inbound(switch.esl_port, PASSWORD)
    esl.command("event plain BACKGROUND_JOB CHANNEL_ANSWER CUSTOM avmd::start avmd::beep avmd::stop")
    yield esl
    esl.close()


def greeting_wav(path: Path, *, beep: bool) -> Path:
    """A machine's greeting (Piper over mu-law), then half a second of silence and a 1 kHz beep or not."""
    ending = [silence(500), tone(1000, 500, -15)] if beep else [silence(900)]
    write_wav(path, Audio(np.concatenate([silence(300), speech(), *ending, silence(2000)]), RATE))
    return path


def answered_call(switch: FakeSwitch, client: EslClient, audio: Path | None = None) -> str:
    """An outbound call to a far end that says ``audio``, answered and parked."""
    switch.add_endpoint(rf"sofia/gateway/twilio/\{NUMBER}", Endpoint(caller_audio=audio))
    leg = str(uuid_module.uuid4())
    reply = client.command(f"bgapi originate {{origination_uuid={leg}}}sofia/gateway/twilio/{NUMBER} &park()")
    job = client.wait_event("BACKGROUND_JOB", Job_UUID=reply.headers["Job-UUID"], timeout=15)
    assert job.event_body == f"+OK {leg}\n"
    return leg


def custom(client: EslClient, subclass: str, start: int = 0, timeout: float = 10.0) -> Message:
    return client.wait_event("CUSTOM", start=start, timeout=timeout, Event_Subclass=subclass)


def subclasses(client: EslClient) -> list[str]:
    return [m.event_header("Event-Subclass") or "" for m in client.messages if m.event_name == "CUSTOM"]


def test_start_and_stop_replies_and_events(switch: FakeSwitch, client: EslClient) -> None:
    leg = answered_call(switch, client)
    call = switch.find_call(leg)
    assert call is not None
    name = call.channel.name
    assert client.api(f"avmd {leg} start") == f"+OK\n [{leg}] [{name}] started!\n\n"
    start = custom(client, "avmd::start")
    assert start.event_header("Unique-ID") == leg and start.event_header("Call-command") == "avmd"
    assert int(start.event_header("Start-time") or "0") > 0
    assert (
        client.api(f"avmd {leg} start") == f"-ERR, avmd for FreeSWITCH session [{leg}]\n already started\n\n"
    )
    assert client.api(f"avmd {leg} stop") == f"+OK\n [{leg}] [{name}] stopped\n\n"
    stop = custom(client, "avmd::stop")
    # 1.10.12's API stop passes BEEP_DETECTED (0) and no session info, and never sets the stop time.
    assert stop.event_header("Beep-Status") == "DETECTED"
    assert stop.event_header("Stop-status") == "ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)"
    assert stop.event_header("Total-time") == f"-{start.event_header('Start-time')}"
    assert client.api(f"avmd {leg} stop") == f"+ERR, avmd has not yet been started on\n [{leg}] [{name}]\n\n"
    assert (
        client.api(f"avmd {leg} begin")
        == f"-ERR, did you mean\n api avmd {leg} start ?\n-USAGE: {SYNTAX}\n\n"
    )


def test_errors_for_no_arguments_and_an_unknown_uuid(client: EslClient) -> None:
    assert client.api("avmd") == f"-ERR, bad command!\n-USAGE: {SYNTAX}\n\n"
    gone = str(uuid_module.uuid4())
    assert (
        client.api(f"avmd {gone} start")
        == f"-ERR, no FreeSWITCH session for uuid [{gone}]!\n-USAGE: {SYNTAX}\n\n"
    )
    assert client.api("avmd set sideways") == f"-ERR, set command: bad syntax!\n-USAGE: {SYNTAX}\n\n"
    assert client.api("avmd load") == f"-ERR, load command takes 1 parameter!\n-USAGE: {SYNTAX}\n\n"


def test_inbound_channels_need_inbound_set(switch: FakeSwitch, client: EslClient) -> None:
    call = switch.place_call(destination="9998", context="default")  # answer, park
    assert call.wait_answered(5)
    name = call.channel.name
    assert client.api(f"avmd {call.uuid} start") == (
        f"-ERR, can't set direction for channel [{name}]\n for FreeSWITCH session [{call.uuid}]."
        f" Please check avmd configuration\n\n+ERR\n [{call.uuid}] [{name}] NOT started!\n\n"
    )
    assert client.api("avmd set inbound") == "+OK\n inbound XML configuration loaded\n\n"
    assert "inbound channel\t\t\t\t\t1\n" in client.api("avmd show")
    assert client.api(f"avmd {call.uuid} start").endswith("started!\n\n")
    assert client.api("avmd set default") == "+OK\n reset to factory settings\n\n"


def test_the_application_hears_the_beep_once(switch: FakeSwitch, client: EslClient, tmp_path: Path) -> None:
    leg = answered_call(switch, client, greeting_wav(tmp_path / "beep.wav", beep=True))
    assert client.api(f"uuid_broadcast {leg} avmd_start:: aleg") == "+OK Message sent\n"
    custom(client, "avmd::start")
    beep = custom(client, "avmd::beep", timeout=15)
    assert beep.event_header("Unique-ID") == leg and beep.event_header("Beep-Status") == "DETECTED"
    assert float(beep.event_header("Frequency") or 0) == pytest.approx(1000, abs=5)
    # the beep began 0.8 s after the greeting, itself 0.3 s in; mod_avmd times from its start (~0.1 s in)
    onset_ms = 300 + 1000 * len(speech()) / RATE + 500
    detection_ms = int(beep.event_header("Detection-time") or 0) / 1000
    assert onset_ms < detection_ms + 300 and detection_ms < onset_ms + 200
    assert client.api(f"uuid_getvar {leg} avmd_detect") == "TRUE"
    gevent.sleep(1.0)  # the rest of the beep and the silence after it: no second detection
    # One detection, delivered twice as on FreeSWITCH 1.10.12: the parked session fires its queued copy
    # again with the channel's data.
    beeps = [m for m in client.messages if m.event_header("Event-Subclass") == "avmd::beep"]
    call = switch.find_call(leg)
    assert call is not None and len(beeps) == 2 and beeps[0].event_header("Channel-Name") is None
    assert beeps[1].event_header("Channel-Name") == call.channel.name
    assert beeps[1].event_header("Detection-time") == beeps[0].event_header("Detection-time")
    switch.api.execute("uuid_broadcast", f"{leg} avmd_stop:: aleg")
    stop = custom(client, "avmd::stop")
    assert stop.event_header("Beep-Status") == "DETECTED" and stop.event_header("Stop-status") is None


def test_no_beep_no_event(switch: FakeSwitch, client: EslClient, tmp_path: Path) -> None:
    leg = answered_call(switch, client, greeting_wav(tmp_path / "plain.wav", beep=False))
    switch.api.execute("uuid_broadcast", f"{leg} avmd_start:: aleg")
    custom(client, "avmd::start")
    gevent.sleep(0.3 + len(speech()) / RATE + 1.2)
    assert "avmd::beep" not in subclasses(client)
    switch.api.execute("uuid_broadcast", f"{leg} avmd_stop:: aleg")
    assert custom(client, "avmd::stop").event_header("Beep-Status") == "NOTDETECTED"


def test_a_session_the_api_started_never_detects(
    switch: FakeSwitch, client: EslClient, tmp_path: Path
) -> None:
    """1.10.12's ``avmd <uuid> start`` gives the session no detectors and no threads: it never fires a beep."""
    leg = answered_call(switch, client, greeting_wav(tmp_path / "beep.wav", beep=True))
    assert client.api(f"avmd {leg} start").endswith("started!\n\n")
    gevent.sleep(0.3 + len(speech()) / RATE + 1.3)
    assert "avmd::beep" not in subclasses(client)
    assert client.api(f"uuid_getvar {leg} avmd_detect") == "_undef_"


def test_hangup_closes_the_session_without_an_event(switch: FakeSwitch, client: EslClient) -> None:
    leg = answered_call(switch, client)
    client.api(f"avmd {leg} start")
    custom(client, "avmd::start")
    assert client.api(f"uuid_kill {leg}") == "+OK\n"
    call = switch.find_call(leg)
    assert call is not None and call.wait_ended(5)
    assert not switch.api.avmd.sessions and "avmd::stop" not in subclasses(client)
