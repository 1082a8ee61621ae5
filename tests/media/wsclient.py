"""A minimal mod_audio_stream-like WebSocket client for the worker's tests (gevent sockets, wsproto)."""

from __future__ import annotations

import json

import gevent
import gevent.queue
import gevent.socket
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)


class StreamClient:
    """Connects like mod_audio_stream, sends metadata and audio, collects the worker's text frames."""

    def __init__(self, address: tuple[str, int], uuid: str) -> None:
        self.sock = gevent.socket.create_connection(address, timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.messages: gevent.queue.Queue[dict[str, object]] = gevent.queue.Queue()
        self.closed: gevent.queue.Queue[int] = gevent.queue.Queue()
        self.sock.sendall(self.ws.send(Request(host=f"{address[0]}:{address[1]}", target=f"/call/{uuid}")))
        self._accepted = gevent.event.Event()
        self._reader = gevent.spawn(self._read)
        if not self._accepted.wait(10):
            raise TimeoutError("no WebSocket handshake answer")

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed.put(-1)
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self._accepted.set()
                elif isinstance(event, RejectConnection):
                    self.closed.put(event.status_code)
                    self._accepted.set()
                elif isinstance(event, TextMessage):
                    self.messages.put(json.loads(event.data))
                elif isinstance(event, CloseConnection):
                    self.closed.put(event.code)

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def send_audio(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data=data)))

    def stream(self, samples: bytes, frame_bytes: int) -> None:
        for start in range(0, len(samples), frame_bytes):
            self.send_audio(samples[start : start + frame_bytes])
            gevent.idle()

    def wait_for(self, kind: str, timeout: float = 30.0) -> dict[str, object]:
        """The next message of type ``kind`` (earlier ones of other types are kept in ``seen``)."""
        with gevent.Timeout(timeout, TimeoutError(f"no {kind!r} message within {timeout} s")):
            while True:
                message = self.messages.get()
                self.seen.append(message)
                if message.get("type") == kind:
                    return message

    seen: list[dict[str, object]]

    def __enter__(self) -> StreamClient:
        self.seen = []
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.sendall(self.ws.send(CloseConnection(code=1000, reason="Normal closure")))
        except Exception:
            pass
        self._reader.kill()
        self.sock.close()
