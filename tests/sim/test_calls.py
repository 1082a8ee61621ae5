"""Direct tests of calls on the stand-in: socket control, broadcast FIFO/break, kill, transfer."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.sim.switch import FakeSwitch
from tests.sim.esl_client import Controller, EslClient

PASSWORD = "s3cret"


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD, recordings_dir=tmp_path) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Controller]:
    ctl = Controller()
    yield ctl
    ctl.stop()


def make_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    samples = (np.sin(np.arange(int(seconds * rate)) * 0.3) * 6000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def connect_and_answer(client: EslClient) -> str:
    data = client.command("connect")
    uuid = data.headers["Unique-ID"]
    assert client.command("myevents").headers["Reply-Text"] == "+OK Events Enabled"
    client.command("event plain PLAYBACK_START PLAYBACK_STOP BACKGROUND_JOB")
    client.command("linger")
    client.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="answer")
    return uuid


def test_connect_reply_carries_the_call_variables(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(
        destination="1000", socket=f"{controller.address} async full", variables={"call_type": "sip"}
    )
    client = controller.client()
    data = client.command("connect")
    assert data.headers["Unique-ID"] == call.uuid
    assert data.headers["variable_call_type"] == "sip"
    assert data.headers["Reply-Text"] == "%2BOK%0A"
    assert data.headers["Control"] == "full"
    assert data.headers["Caller-Caller-ID-Number"] == "%2B15551230000"
    assert client.command("getvar call_type").headers["Reply-Text"] == "sip"


def test_broadcasts_play_in_order_and_break_all_flushes(
    switch: FakeSwitch, controller: Controller, tmp_path: Path
) -> None:
    first = make_wav(tmp_path / "first.wav", 0.4)
    second = make_wav(tmp_path / "second.wav", 5.0)
    third = make_wav(tmp_path / "third.wav", 0.4)
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    for path in (first, second, third):
        assert client.api(f"uuid_broadcast {uuid} {path} aleg") == "+OK Message sent\n"
    client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(first), Playback_Status="done")
    client.wait_event("PLAYBACK_START", Playback_File_Path=str(second))
    assert client.api(f"uuid_break {uuid} all") == "+OK\n"
    stop = client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(second))
    assert stop.event_header("Playback-Status") == "break"
    complete = client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_Data=str(second))
    assert complete.event_header("Application-Response") == "FILE PLAYED"
    assert client.api(f"uuid_getvar {uuid} playback_last_offset_pos") != "_undef_"
    call.hangup()
    assert call.wait_ended(5)
    assert call.played_files == [str(first), str(second)]
    with wave.open(str(call.recording_path), "rb") as recording:
        assert recording.getnchannels() == 2


def test_broadcast_of_a_missing_file_reports_file_not_found(
    switch: FakeSwitch, controller: Controller, tmp_path: Path
) -> None:
    switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    client.api(f"uuid_broadcast {uuid} {tmp_path / 'missing.wav'} aleg")
    complete = client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="playback")
    assert complete.event_header("Application-Response") == "FILE NOT FOUND"
    assert "PLAYBACK_START" not in client.event_names()


def test_uuid_kill_with_a_cause(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    assert client.api(f"uuid_kill {uuid} USER_BUSY") == "+OK\n"
    complete = client.wait_event("CHANNEL_HANGUP_COMPLETE")
    assert complete.event_header("Hangup-Cause") == "USER_BUSY"
    assert complete.event_header("variable_hangup_cause_q850") == "17"
    assert complete.event_header("variable_billsec") is not None
    assert call.hangup_cause == "USER_BUSY"
    assert client.api(f"uuid_kill {uuid}") == "-ERR No such channel!\n"


def test_exit_ends_the_socket_app_and_the_dialplan_hangs_up(
    switch: FakeSwitch, controller: Controller
) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    connect_and_answer(client)
    assert client.command("exit").headers["Reply-Text"] == "+OK bye"
    notice = client.wait_for(lambda m: m.content_type == "text/disconnect-notice")
    assert notice.headers["Controlled-Session-UUID"] == call.uuid
    assert client.closed.wait(5)
    assert call.wait_ended(5)
    assert call.hangup_cause == "NORMAL_CLEARING"


def test_controller_dropping_the_socket_does_not_break_the_switch(
    switch: FakeSwitch, controller: Controller
) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    client.command("connect")
    client.close()
    assert call.wait_ended(5)
    assert switch.api.execute("status", None).startswith("UP ")


def test_unknown_application_hangs_up_destination_out_of_order(
    switch: FakeSwitch, controller: Controller
) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    connect_and_answer(client)
    assert (
        client.command("sendmsg\ncall-command: execute\nexecute-app-name: nosuchapp").headers["Reply-Text"]
        == "+OK"
    )
    hangup = client.wait_event("CHANNEL_HANGUP")
    assert hangup.event_header("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
    assert call.wait_ended(5)


def test_transfer_to_an_unknown_extension_is_no_route(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    assert client.api(f"uuid_transfer {uuid} 5555") == "+OK\n"
    assert call.wait_ended(5)
    assert call.transfers == ["5555"]
    assert call.hangup_cause == "NO_ROUTE_DESTINATION"


def test_transfer_to_a_known_extension_runs_it(switch: FakeSwitch, controller: Controller) -> None:
    switch.dialplan.add("public", r"^agent$", [("hangup", "CALL_REJECTED")])
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    assert client.api(f"uuid_transfer {uuid} agent XML public") == "+OK\n"
    assert call.wait_ended(5)
    assert call.hangup_cause == "CALL_REJECTED"


def test_sync_socket_executes_sendmsg_inline(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} full")
    client = controller.client()
    data = client.command("connect")
    assert data.headers["Socket-Mode"] == "static"
    client.command("myevents")
    start = len(client.messages)
    reply = client.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    assert reply.headers["Reply-Text"] == "+OK"
    assert client.messages.index(reply) == start
    client.wait_event("CHANNEL_ANSWER", start=start)
    assert call.answered.is_set()
    call.hangup()
    assert call.wait_ended(5)


def test_caller_dtmf_and_commands_after_hangup(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    uuid = connect_and_answer(client)
    call.send_dtmf("7")
    dtmf = client.wait_event("DTMF")
    assert dtmf.event_header("DTMF-Digit") == "7"
    assert dtmf.event_header("DTMF-Duration") == "2240"
    call.hangup()
    client.wait_event("CHANNEL_HANGUP_COMPLETE")
    assert client.api(f"uuid_broadcast {uuid} /tmp/x.wav aleg") == "-ERR invalid uuid\n"
    assert client.command("getvar hangup_cause").headers["Reply-Text"] == "NORMAL_CLEARING"
    assert client.command("exit").headers["Reply-Text"] == "+OK bye"
    assert client.closed.wait(5)


def test_linger_notice_follows_the_hangup(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    connect_and_answer(client)
    call.hangup("NORMAL_CLEARING")
    notice = client.wait_for(lambda m: m.headers.get("Content-Disposition") == "linger")
    hangup = client.wait_event("CHANNEL_HANGUP")
    assert client.messages.index(hangup) < client.messages.index(notice)
    assert notice.headers["Linger-Time"] == "-1"
    client.wait_event("CHANNEL_HANGUP_COMPLETE")
    assert not client.closed.is_set()
    client.command("exit")
    assert client.closed.wait(5)
    assert call.destroyed.wait(5)


def test_stop_closes_a_lingering_controller(switch: FakeSwitch, controller: Controller) -> None:
    call = switch.place_call(socket=f"{controller.address} async full")
    client = controller.client()
    connect_and_answer(client)
    call.hangup()
    client.wait_event("CHANNEL_HANGUP_COMPLETE")
    assert not client.closed.is_set()
    switch.stop()
    assert client.closed.wait(5)
