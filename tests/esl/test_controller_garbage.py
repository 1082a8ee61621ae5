"""A FreeSWITCH peer that sends a malformed event and an unknown one mid-call: the call still closes cleanly.

The peer is scripted from the real capture: the `connect` reply and the CHANNEL_HANGUP_COMPLETE are the
bytes FreeSWITCH 1.10.12 sent; every command gets FreeSWITCH's reply shape.
"""

from __future__ import annotations

from pathlib import Path

import gevent
import gevent.socket

from app.control.controller import CallController
from app.control.session import SessionPolicy
from app.dialog import base as d
from app.esl.connection import OutboundServer
from app.esl.protocol import MessageReader, parse_event
from app.store import CallLog, upgrade

UUID = "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"


class Silent:
    """An agent that says nothing (this test is about the wire, not the dialog)."""

    def agent_for(self, context: d.CallContext, flow: str | None) -> d.Agent:
        return self

    def respond(self, context: d.CallContext, event: d.Input) -> object:
        return iter(())


class NoSpeech:
    def render(self, text: str, rate: int) -> tuple[Path, int]:
        raise AssertionError("nothing should be spoken")


def captured(fs_fixtures: Path) -> tuple[bytes, bytes]:
    data = (fs_fixtures / "outbound-socket-call.received.txt").read_bytes()
    messages = list(MessageReader().feed(data))
    connect = messages[0]
    raw_connect = b"".join(f"{k}: {v}\n".encode() for k, v in connect.headers.items()) + b"\n"
    complete = next(m for m in messages if m.is_event and parse_event(m).name == "CHANNEL_HANGUP_COMPLETE")
    raw_complete = f"Content-Length: {len(complete.body)}\nContent-Type: text/event-plain\n\n".encode() + complete.body
    return raw_connect, raw_complete


def event(body: bytes) -> bytes:
    return f"Content-Length: {len(body)}\nContent-Type: text/event-plain\n\n".encode() + body


def test_malformed_and_unknown_events_are_survived(fs_fixtures: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(url)
    call_log = CallLog.open(url)
    controller = CallController(SessionPolicy(media_url="ws://127.0.0.1:9"), call_log, NoSpeech(), Silent())
    server = OutboundServer("127.0.0.1", 0, controller)
    listening = gevent.spawn(server.listen)
    raw_connect, raw_complete = captured(fs_fixtures)
    try:
        sock = gevent.socket.create_connection(("127.0.0.1", server.port), timeout=10)
        buffer = b""

        def command() -> str:
            nonlocal buffer
            while b"\n\n" not in buffer:
                chunk = sock.recv(4096)
                assert chunk, "the controller closed the socket early"
                buffer += chunk
            text, _, buffer = buffer.partition(b"\n\n")
            return text.decode()

        assert command() == "connect"
        sock.sendall(raw_connect)
        while not (sent := command()).startswith("sendmsg"):  # myevents, event, linger
            sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n")  # the answer
        sock.sendall(event(b"Event-Name: CHANNEL_ANSWER\nUnique-ID: " + UUID.encode() + b"\nbroken line\n\n"))
        sock.sendall(event(f"Event-Name: SOMETHING_NEW\nUnique-ID: {UUID}\n".encode()))
        sock.sendall(event(b'{"json": "in a plain event"'))
        sock.sendall(raw_complete)
        with gevent.Timeout(15):
            while (record := call_log.get_call(UUID)) is None or record.ended_at is None:
                if "api " in (sent := command()) or sent.startswith("bgapi"):
                    sock.sendall(b"Content-Type: api/response\nContent-Length: 12\n\n+OK Success\n")
                elif sent:
                    sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
        assert record.state == "ended" and record.hangup_cause == "NORMAL_CLEARING"
        assert record.answered_at is None  # the only CHANNEL_ANSWER was malformed and dropped
        sock.close()
    finally:
        server.stop()
        listening.kill()
        call_log.close()
