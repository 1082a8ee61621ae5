"""A WebSocket server that records exactly what a client sends, for tests and demos.

It is written from RFC 6455/7692 directly (no wsproto), so it checks the simulator's client
independently: it keeps the raw upgrade request and every frame's FIN/RSV/opcode/mask bits, and
inflates permessage-deflate payloads itself. It listens on 127.0.0.1, port 0 by default.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.server
import gevent.socket

logger = logging.getLogger(__name__)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFLATE_ANSWER = (
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
    "server_max_window_bits=12; client_max_window_bits=9"
)
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


@dataclass(frozen=True)
class RecordedFrame:
    """One frame from the client, payload unmasked and inflated."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes
    wire_length: int

    @property
    def text(self) -> str:
        """The payload as UTF-8 text."""
        return self.payload.decode("utf-8")

    @property
    def close_code(self) -> int:
        """Close status code of a close frame."""
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> str:
        """Close reason of a close frame."""
        return self.payload[2:].decode("utf-8")


class Changes:
    """Lets greenlets wait until a condition on shared state holds."""

    def __init__(self) -> None:
        self._event = gevent.event.Event()

    def notify(self) -> None:
        """State changed: wake every waiter."""
        event, self._event = self._event, gevent.event.Event()
        event.set()

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` is true; False if ``timeout`` seconds pass first."""
        with gevent.Timeout(timeout, False):
            while not condition():
                self._event.wait()
            return True
        return bool(condition())


def _read_exact(sock: gevent.socket.socket, size: int, buffer: bytearray) -> bytes:
    while len(buffer) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


class RecordedConnection:
    """One client connection: its request, its frames, and server-side actions."""

    def __init__(self, sock: gevent.socket.socket, server: RecordingWsServer) -> None:
        self.sock = sock
        self.server = server
        self.request = b""
        self.frames: list[RecordedFrame] = []
        self.deflate = False
        self.closed = False
        self.close_sent = False

    @property
    def binary_frames(self) -> list[RecordedFrame]:
        """Binary frames received so far."""
        return [f for f in self.frames if f.opcode == OP_BINARY]

    @property
    def data_frames(self) -> list[RecordedFrame]:
        """Text and binary frames received so far, in order."""
        return [f for f in self.frames if f.opcode in (OP_TEXT, OP_BINARY)]

    def close_frames(self) -> list[RecordedFrame]:
        """Close frames received so far."""
        return [f for f in self.frames if f.opcode == OP_CLOSE]

    def send_text(self, text: str, *, compress: bool | None = None) -> None:
        """Send a text frame (compressed when deflate was negotiated, unless ``compress`` says no)."""
        self._send_frame(OP_TEXT, text.encode("utf-8"), self.deflate if compress is None else compress)

    def send_binary(self, data: bytes) -> None:
        """Send a binary frame."""
        self._send_frame(OP_BINARY, data, self.deflate)

    def send_close(self, code: int, reason: str) -> None:
        """Start the closing handshake."""
        self.close_sent = True
        self._send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"), False)

    def _send_frame(self, opcode: int, payload: bytes, compress: bool) -> None:
        first = 0x80 | opcode
        if compress:
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12)
            payload = (compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
            first |= 0x40
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", first, length)
        elif length < 65536:
            header = struct.pack("!BBH", first, 126, length)
        else:
            header = struct.pack("!BBQ", first, 127, length)
        self.sock.sendall(header + payload)

    def serve(self) -> None:
        buffer = bytearray()
        try:
            while b"\r\n\r\n" not in buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            end = buffer.index(b"\r\n\r\n") + 4
            self.request = bytes(buffer[:end])
            del buffer[:end]
            self.server.changes.notify()
            if not self.server.answer_upgrade:
                self.server.released.wait()  # hold the connection open, never answer
                return
            self._answer_upgrade()
            self.server.changes.notify()
            if self.server.on_open is not None:
                self.server.on_open(self)
            while not self.server.stop_reading:
                frame = self._read_frame(buffer)
                self.frames.append(frame)
                self.server.changes.notify()
                if frame.opcode == OP_CLOSE:
                    if not self.close_sent:
                        self.send_close(frame.close_code, frame.close_reason)
                    return
                if self.server.on_frame is not None:
                    self.server.on_frame(self, frame)
            self.server.released.wait()  # stuck: read nothing more until the server stops
        except (EOFError, OSError):
            pass
        finally:
            self.closed = True
            self.sock.close()
            self.server.changes.notify()

    def _answer_upgrade(self) -> None:
        headers = {}
        for line in self.request.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest())
        lines = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {accept.decode()}",
        ]
        if self.server.accept_deflate and "permessage-deflate" in headers.get("sec-websocket-extensions", ""):
            self.deflate = True
            lines.append(f"Sec-WebSocket-Extensions: {DEFLATE_ANSWER}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _read_frame(self, buffer: bytearray) -> RecordedFrame:
        first, second = _read_exact(self.sock, 2, buffer)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", _read_exact(self.sock, 2, buffer))[0]
        elif length == 127:
            length = struct.unpack("!Q", _read_exact(self.sock, 8, buffer))[0]
        masked = bool(second & 0x80)
        mask = _read_exact(self.sock, 4, buffer) if masked else b"\0\0\0\0"
        wire = _read_exact(self.sock, length, buffer)
        key = (mask * (length // 4 + 1))[:length]
        payload = (int.from_bytes(wire, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
        rsv = (first >> 4) & 0x7
        if rsv & 0x4:
            payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
        return RecordedFrame(
            fin=bool(first & 0x80),
            rsv=rsv,
            opcode=first & 0x0F,
            masked=masked,
            payload=payload,
            wire_length=length,
        )


class RecordingWsServer:
    """Accepts WebSocket clients on 127.0.0.1 and records what they send."""

    def __init__(
        self,
        *,
        accept_deflate: bool = True,
        answer_upgrade: bool = True,
        stop_reading: bool = False,
        on_open: Callable[[RecordedConnection], None] | None = None,
        on_frame: Callable[[RecordedConnection, RecordedFrame], None] | None = None,
    ) -> None:
        self.accept_deflate = accept_deflate
        self.answer_upgrade = answer_upgrade
        self.on_open = on_open
        self.on_frame = on_frame
        self.stop_reading = stop_reading
        """When set, connections stop reading (a stuck server) after the handshake."""
        self.released = gevent.event.Event()
        self.connections: list[RecordedConnection] = []
        self.changes = Changes()
        self._server = gevent.server.StreamServer(("127.0.0.1", 0), self._handle)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_port)

    def url(self, path: str = "/") -> str:
        """``ws://127.0.0.1:<port><path>``."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self) -> RecordingWsServer:
        """Start listening; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        self.released.set()
        self._server.stop(timeout=1)

    def wait_connection(self, timeout: float = 5.0, index: int = 0) -> RecordedConnection:
        """The ``index``-th connection once its upgrade request has arrived."""
        if not self.changes.wait_until(
            lambda: len(self.connections) > index and bool(self.connections[index].request), timeout
        ):
            raise TimeoutError("no WebSocket connection")
        return self.connections[index]

    def _handle(self, sock: gevent.socket.socket, _address: object) -> None:
        connection = RecordedConnection(sock, self)
        self.connections.append(connection)
        connection.serve()
