"""The ESL reader and parsers against real FreeSWITCH 1.10.12 byte streams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.esl.protocol import (
    CONTENT_API_RESPONSE,
    CONTENT_COMMAND_REPLY,
    CONTENT_DISCONNECT,
    EslMessage,
    MessageReader,
    ProtocolError,
    connect_reply_event,
    parse_event,
    parse_json_event,
    serialize_command,
)


def read_all(data: bytes, chunk: int = 65536) -> list[EslMessage]:
    reader = MessageReader()
    out: list[EslMessage] = []
    for start in range(0, len(data), chunk):
        out.extend(reader.feed(data[start : start + chunk]))
    return out


def test_outbound_call_stream_parses_into_the_captured_messages(fs_fixtures: Path) -> None:
    data = (fs_fixtures / "outbound-socket-call.received.txt").read_bytes()
    messages = read_all(data)

    connect = connect_reply_event(messages[0])
    assert connect.name == "CHANNEL_DATA"
    assert connect.headers["Reply-Text"] == "+OK\n"
    assert connect.headers["Control"] == "full"
    assert connect.variable("current_application_data") == "127.0.0.1:8084 async full"
    assert connect.get("Channel-Name") == "sofia/internal/sipp@127.0.0.1:5072"
    assert connect.lists["variable_DP_MATCH"] == ("DELAYED NEGOTIATION", "DELAYED NEGOTIATION")

    kinds = [m.content_type for m in messages]
    assert kinds[1:3] == [CONTENT_COMMAND_REPLY, CONTENT_COMMAND_REPLY]
    assert messages[1].reply_text == "+OK Events Enabled"
    events = [parse_event(m) for m in messages if m.is_event]
    names = [e.name for e in events]
    assert names.index("CHANNEL_ANSWER") < names.index("PLAYBACK_START") < names.index("CHANNEL_HANGUP_COMPLETE")
    utterances = [e for e in events if e.subclass == "mod_audio_stream::json"]
    assert [json.loads(e.body) for e in utterances] == [{"type": "utterance", "text": "hello"}]
    stops = [e.get("Playback-Status") for e in events if e.name == "PLAYBACK_STOP"]
    assert stops == ["done", "break"]
    complete = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE")
    assert complete.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert complete.variable("billsec") is not None and complete.variable("billsec").isdigit()
    apis = [m.body_text for m in messages if m.content_type == CONTENT_API_RESPONSE]
    assert "+OK Message sent\n" in apis and "2000" in apis
    assert kinds[-1] == CONTENT_DISCONNECT and b"Disconnected, goodbye" in messages[-1].body


@pytest.mark.parametrize("chunk", [1, 7, 512])
def test_any_split_of_the_stream_gives_the_same_messages(fs_fixtures: Path, chunk: int) -> None:
    data = (fs_fixtures / "outbound-socket-dtmf.received.txt").read_bytes()
    whole = read_all(data)
    assert read_all(data, chunk) == whole
    digits = [parse_event(m).get("DTMF-Digit") for m in whole if m.is_event and b"Event-Name: DTMF\n" in m.body]
    assert digits == ["1", "5", "#"]


def test_json_events_keep_arrays_and_body(fs_fixtures: Path) -> None:
    data = (fs_fixtures / "outbound-socket-app-hangup-json.received.txt").read_bytes()
    events = [parse_event(m) for m in read_all(data) if m.is_event]
    assert events and all(m for m in events)
    custom = [e for e in events if e.name == "CUSTOM"]
    assert custom and custom[0].subclass == "mod_audio_stream::connect"
    assert json.loads(custom[0].body) == {"status": "connected"}


def test_inbound_stream_has_background_jobs(fs_fixtures: Path) -> None:
    messages = read_all((fs_fixtures / "inbound-esl.received.txt").read_bytes())
    assert messages[0].content_type == "auth/request"
    jobs = [parse_event(m) for m in messages if m.is_event and b"BACKGROUND_JOB" in m.body[:40]]
    bodies = [j.body for j in jobs]
    assert any(b.startswith("+OK ") for b in bodies)
    assert "-ERR NORMAL_TEMPORARY_FAILURE\n" in bodies


@pytest.mark.parametrize(
    "garbage",
    [
        b"this is not esl\n\n",
        b"Content-Length: nope\n\n",
        b"Content-Type: api/response\nContent-Length: 99999999999\n\n",
        b"\xff\xfe: x\n\n",
    ],
)
def test_garbage_raises_a_protocol_error(garbage: bytes) -> None:
    with pytest.raises(ProtocolError):
        list(MessageReader().feed(garbage))


def test_endless_headers_are_refused() -> None:
    reader = MessageReader()
    with pytest.raises(ProtocolError):
        list(reader.feed(b"X-A: " + b"a" * 300_000))


def test_bad_json_event_is_an_error() -> None:
    with pytest.raises(ProtocolError):
        parse_json_event(b"{not json")


def test_serialize_command_frames_headers_and_body() -> None:
    raw = serialize_command("sendmsg", {"call-command": "execute", "execute-app-name": "answer"})
    assert raw == b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n"
    assert serialize_command("api status") == b"api status\n\n"
