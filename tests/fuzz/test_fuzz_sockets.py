"""Fuzzed bytes at every listening socket of the call path, with a call in progress through it.

Each test keeps one call up (the stand-in's SIP caller, the controller, the worker's stream), throws
fuzzed connections at one socket, then checks that the socket still serves a well-formed client and that
the call in progress ends as its caller's hang-up with an intact record (see
:func:`tests.fuzz.fuzzing.call_in_progress`). The sockets: the controller's outbound ESL port (where
FreeSWITCH's ``socket`` application connects), the media worker's WebSocket (mod_audio_stream), and the
stand-in's inbound event socket (what the controller's inbound client, the dialer and fs_cli talk to).
The Verto WebSocket is in test_fuzz_verto.py.
"""

from __future__ import annotations

import json
import uuid

import gevent.socket
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.esl.protocol import MessageReader
from app.sim.switch import FakeSwitch
from app.wiring import Stack
from tests.fuzz.fuzzing import (
    RawWebSocket,
    assert_record_intact,
    call_in_progress,
    examples,
    exchange,
    place_listening_call,
)
from tests.fuzz.strategies import ESL_BYTES, TEXT_FRAMES

# --- the controller's outbound ESL port --------------------------------------------------------------


def test_fuzzed_bytes_on_the_controller_port(fuzz_stack: Stack, fuzz_switch: FakeSwitch) -> None:
    port = fuzz_stack.controller_port

    @settings(max_examples=examples(40))
    @given(data=ESL_BYTES)
    def peer_sends(data: bytes) -> None:
        received = exchange(port, data)
        assert received.startswith(b"connect\n\n") or not received  # the controller's first words

    with call_in_progress(fuzz_switch, fuzz_stack):
        peer_sends()
        # A real call after the garbage: answered, greeted, recorded.
        second = place_listening_call(fuzz_switch, fuzz_stack)
        second.hangup()
        assert_record_intact(fuzz_stack, second)


# --- the stand-in's inbound event socket -------------------------------------------------------------

CLIENT_PIECES = st.sampled_from(
    [
        b"api status\n\n", b"api show channels as json\n\n", b"api uuid_getvar " + str(uuid.uuid4()).encode(),
        b"event plain ALL\n\n", b"event json CHANNEL_ANSWER CUSTOM mod_audio_stream::json\n\n",
        b"filter Unique-ID x\n\n", b"nixevent ALL\n\n", b"noevents\n\n", b"linger\n\n", b"nolinger\n\n",
        b"myevents\n\n", b"log 7\n\n", b"nolog\n\n", b"bgapi status\nJob-UUID: x\n\n", b"divert_events on\n\n",
        b"sendmsg\ncall-command: execute\n\n", b"Content-Length: 5\n\n", b"Content-Length: 99999999\n\n",
        b"auth wrong\n\n", b"\r\n\r\n", b"\n", b"exit\n\n", b"\x00\xff",
    ]
)  # fmt: skip
CLIENT_BYTES = st.lists(st.one_of(CLIENT_PIECES, st.binary(max_size=40)), max_size=16).map(b"".join)


def esl_session(port: int, password: str, commands: list[bytes]) -> list[str]:
    """Authenticate, send each command, and return the text of each reply (a well-formed client)."""
    reader = MessageReader()
    replies: list[str] = []
    with gevent.socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(10)
        pending = [b"auth " + password.encode() + b"\n\n", *commands]
        while True:
            data = sock.recv(65536)
            assert data, "the event socket closed on a well-formed client"
            for message in reader.feed(data):
                if message.content_type == "auth/request":
                    sock.sendall(pending.pop(0))
                elif message.content_type in ("command/reply", "api/response"):
                    replies.append(message.reply_text or message.body_text)
                    if not pending:
                        return replies
                    sock.sendall(pending.pop(0))


def test_fuzzed_bytes_on_the_stand_in_event_socket(fuzz_stack: Stack, fuzz_switch: FakeSwitch) -> None:
    port, password = fuzz_switch.esl_port, fuzz_switch.password

    @settings(max_examples=examples(40))
    @given(data=CLIENT_BYTES, authed=st.booleans())
    def client_sends(data: bytes, authed: bool) -> None:
        prefix = b"auth " + password.encode() + b"\n\n" if authed else b""
        exchange(port, prefix + data)

    with call_in_progress(fuzz_switch, fuzz_stack) as call:
        client_sends()
        replies = esl_session(port, password, [b"api show channels as json\n\n"])
        assert replies[0] == "+OK accepted"
        rows = json.loads(replies[1]).get("rows") or []
        assert call.uuid in [row.get("uuid") for row in rows]


# --- the media worker's WebSocket --------------------------------------------------------------------

FRAME = st.one_of(
    TEXT_FRAMES.map(lambda text: ("text", text)),
    st.binary(max_size=640).map(lambda data: ("bytes", data)),
    st.binary(min_size=1, max_size=32).map(lambda data: ("raw", data)),
)


PLAYBACK_STARTED_INFINITY = '{"type":"playback_started","id":"s1","elapsed_ms":Infinity}'


def metadata_for(stream_id: str, rate: int = 8000) -> str:
    return json.dumps({"uuid": stream_id, "call_type": "sip", "rate": rate, "caller": "+15551230000"})


def test_fuzzed_frames_on_the_worker_websocket(fuzz_stack: Stack, fuzz_switch: FakeSwitch) -> None:
    port = fuzz_stack.media.address[1]

    @settings(max_examples=examples(40))
    @given(
        handshake=st.one_of(st.none(), ESL_BYTES, st.binary(max_size=200)),
        with_metadata=st.booleans(),
        frames=st.lists(FRAME, max_size=5),
    )
    # found by fuzzing: json.loads took Infinity, and the echo timeline's int(inf) killed the stream
    @example(handshake=None, with_metadata=True, frames=[("text", PLAYBACK_STARTED_INFINITY)])
    def stream_sends(handshake: bytes | None, with_metadata: bool, frames: list[tuple[str, object]]) -> None:
        if handshake is not None:  # not even a WebSocket: an HTTP request gone wrong
            exchange(port, b"GET /call/" + str(uuid.uuid4()).encode() + b" HTTP/1.1\r\n" + handshake)
            return
        stream_id = str(uuid.uuid4())
        ws = RawWebSocket(port, f"/call/{stream_id}")
        assert ws.accepted
        try:
            if with_metadata:
                ws.send_text(metadata_for(stream_id))
            for kind, payload in frames:
                if kind == "text":
                    ws.send_text(str(payload))
                elif kind == "bytes":
                    ws.send_bytes(bytes(payload))  # type: ignore[call-overload]
                else:
                    ws.send_raw(bytes(payload))  # type: ignore[call-overload]
        except OSError:
            pass  # the worker closed a broken stream first: what it should do
        ws.drain()

    with call_in_progress(fuzz_switch, fuzz_stack):
        stream_sends()
        # A well-formed stream after the garbage: 10 frames of 20 ms, a notice, a clean close.
        stream_id = str(uuid.uuid4())
        ws = RawWebSocket(port, f"/call/{stream_id}")
        assert ws.accepted
        ws.send_text(metadata_for(stream_id))
        tone = (3000 * np.sin(np.arange(160) / 3)).astype("<i2").tobytes()
        for _ in range(10):
            ws.send_bytes(tone)
        ws.send_text(json.dumps({"type": "playback_on"}))
        assert ws.close() == 1000
        report = fuzz_stack.reports.get(stream_id)
        assert report is not None and report.frames == 10 and report.controls == ["playback_on"]
