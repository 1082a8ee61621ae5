"""Garbage, abrupt closes and odd commands on the inbound ESL port never break the stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gevent import socket

from app.sim.switch import FakeSwitch
from tests.sim.esl_client import EslClient

PASSWORD = "pw"


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD) as fake:
        yield fake


def test_garbage_gets_command_not_found_and_the_connection_stays_usable(switch: FakeSwitch) -> None:
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    client.sock.sendall(b"\x00\xff\xfe\xfd binary junk\n\n")
    reply = client.wait_for(lambda m: m.headers.get("Reply-Text") == "-ERR command not found", start=2)
    assert reply.content_type == "command/reply"
    assert client.api("status").startswith("UP ")
    client.close()


def test_abrupt_close_mid_command_and_new_clients_still_served(switch: FakeSwitch) -> None:
    sock = socket.create_connection(("127.0.0.1", switch.esl_port), timeout=5)
    sock.recv(100)
    sock.sendall(b"auth pw\n\napi stat")
    sock.close()
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    assert client.api("status").startswith("UP ")
    client.close()


def test_full_listener_commands(switch: FakeSwitch) -> None:
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    assert client.command("event").headers["Reply-Text"] == "-ERR no keywords supplied"
    assert client.command("noevents").headers["Reply-Text"] == "-ERR not listening for events"
    assert client.command("event plain ALL").headers["Reply-Text"] == "+OK event listener enabled plain"
    assert client.command("nixevent DTMF").headers["Reply-Text"] == "+OK events nixed"
    assert client.command("noevents").headers["Reply-Text"] == "+OK no longer listening for events"
    assert client.command("linger").headers["Reply-Text"] == "-ERR not controlling a session"
    assert (
        client.command("filter Unique-ID abc").headers["Reply-Text"] == "+OK filter added. [Unique-ID]=[abc]"
    )
    assert client.command("api").headers["Reply-Text"] == "-ERR command not found"
    client.close()


def test_bgapi_job_uuid_header_is_honoured(switch: FakeSwitch) -> None:
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    client.command("event plain BACKGROUND_JOB")
    reply = client.command("bgapi status\nJob-UUID: my-job-1")
    assert reply.headers["Job-UUID"] == "my-job-1"
    job = client.wait_event("BACKGROUND_JOB", Job_UUID="my-job-1")
    assert job.event_body.startswith("UP ")
    assert job.event_header("Job-Owner-UUID") is None
    client.close()


def test_uuid_api_usage_and_unknown_channel_replies(switch: FakeSwitch) -> None:
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    assert client.api("uuid_getvar") == "-USAGE: <uuid> <var>\n"
    assert client.api("uuid_getvar nope x") == "-ERR No such channel!\n"
    assert client.api("uuid_setvar nope x y") == "-ERR No such channel!\n"
    assert client.api("uuid_break nope all") == "-ERR No such channel!\n"
    assert client.api("uuid_audio_stream").startswith("-USAGE: <uuid> [start | stop")
    assert client.api("uuid_audio_stream nope stop") == "-ERR Operation Failed\n"
    assert client.api("show channels") == "\n".join(
        [client.api("show channels").split("\n")[0], "", "0 total.", ""]
    )
    assert client.api("show channels as json") == '{"row_count":0}'
    client.close()


def test_parked_call_variables_and_audio_stream_argument_errors(switch: FakeSwitch) -> None:
    call = switch.place_call(destination="9998", context="default")
    assert call.wait_answered(5)
    client = EslClient.inbound(switch.esl_port, PASSWORD)
    assert client.api(f"uuid_setvar {call.uuid} greeting 'hello world'") == "+OK\n"
    assert client.api(f"uuid_getvar {call.uuid} greeting") == "hello world"
    assert client.api(f"uuid_getvar {call.uuid} nothing_here") == "_undef_"
    assert client.api(f"uuid_audio_stream {call.uuid} start ws://127.0.0.1:1/x quad 8k") == "-ERR no reply\n"
    assert client.api(f"uuid_audio_stream {call.uuid} start notaurl mono 8k") == "-ERR Operation Failed\n"
    assert client.api(f"uuid_audio_stream {call.uuid} send_text hi") == "-ERR Operation Failed\n"
    assert client.api(f"uuid_audio_stream {call.uuid} bogus") == "-ERR Operation Failed\n"
    assert client.api(f"uuid_kill {call.uuid}") == "+OK\n"
    assert call.wait_ended(5)
    client.close()
