"""The WebSocket endpoint mod_audio_stream connects to: one connection per call (the media package's only socket).

Each connection is served by its own greenlet; what a call's audio does (VAD, STT) lives in the listener
that ``listener_factory`` builds for it, so one slow or broken stream never touches another.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Protocol

import gevent
import gevent.lock
import gevent.server
import gevent.socket
import numpy as np
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from app.domain import CallId
from app.media import wire

log = logging.getLogger(__name__)

Send = Callable[[dict[str, object]], None]


class CallListener(Protocol):
    """Receives one call's stream after its metadata."""

    def on_audio(self, samples: np.ndarray) -> None: ...
    def on_control(self, message: dict[str, object]) -> None: ...
    def on_end(self, reason: str) -> None: ...


ListenerFactory = Callable[[wire.StreamMetadata, Send], CallListener]


class StreamClosed(Exception):
    pass


class _Stream:
    """One WebSocket connection from mod_audio_stream."""

    def __init__(self, sock: gevent.socket.socket, factory: ListenerFactory, idle_timeout: float) -> None:
        self.sock = sock
        self.factory = factory
        self.idle_timeout = idle_timeout
        self.ws = WSConnection(ConnectionType.SERVER)
        self.write_lock = gevent.lock.Semaphore()
        self.call_id: CallId | None = None
        self.listener: CallListener | None = None
        self.partial_text: list[str] = []
        self.partial_bytes = bytearray()
        self.closed = False

    @property
    def label(self) -> str:
        return f"call {self.call_id}" if self.call_id else "stream (no call yet)"

    def serve(self) -> None:
        reason = "closed by FreeSWITCH"
        try:
            self.sock.settimeout(self.idle_timeout)
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    reason = "connection dropped without a close frame"
                    break
                self.ws.receive_data(data)
                self._handle_events()
        except wire.WireError as exc:
            reason = f"bad stream: {exc}"
            log.warning("%s: %s; closing it", self.label, exc)
            self._close(1003 if "not whole" in str(exc) else 1008, str(exc)[:100])
        except (RemoteProtocolError, LocalProtocolError) as exc:
            reason = f"WebSocket protocol error: {exc}"
            log.warning("%s: %s", self.label, reason)
        except TimeoutError:
            reason = f"no data for {self.idle_timeout:.0f} s"
            log.warning("%s: %s; closing it", self.label, reason)
            self._close(1001, "idle")
        except OSError as exc:
            reason = f"socket error: {exc}"
            log.warning("%s: %s", self.label, reason)
        finally:
            self._finish(reason)

    def _handle_events(self) -> None:
        for event in self.ws.events():
            if isinstance(event, Request):
                self._accept(event)
            elif isinstance(event, TextMessage):
                self.partial_text.append(event.data)
                if event.message_finished:
                    text, self.partial_text = "".join(self.partial_text), []
                    self._on_text(text)
            elif isinstance(event, BytesMessage):
                self.partial_bytes.extend(event.data)
                if len(self.partial_bytes) > wire.MAX_FRAME_BYTES:
                    raise wire.WireError(f"binary message over {wire.MAX_FRAME_BYTES} bytes")
                if event.message_finished:
                    frame = bytes(self.partial_bytes)
                    self.partial_bytes.clear()
                    self._on_audio(frame)
            elif isinstance(event, Ping):
                self._write(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                log.info("%s: stream closed (%s %s)", self.label, event.code, event.reason)
                if self.ws.state.name != "CLOSED":
                    self._write(self.ws.send(event.response()))
                self.closed = True

    def _accept(self, request: Request) -> None:
        try:
            self.call_id = wire.call_id_from_path(request.target)
        except wire.WireError as exc:
            log.warning("rejecting a stream: %s", exc)
            self._write(self.ws.send(RejectConnection(status_code=404)))
            self.closed = True
            return
        offered = any("permessage-deflate" in str(ext) for ext in request.extensions)
        extensions: list[Extension] = [PerMessageDeflate()] if offered else []
        self._write(self.ws.send(AcceptConnection(extensions=extensions)))
        log.info("%s: stream connected (deflate=%s)", self.label, offered)

    def _on_text(self, text: str) -> None:
        if self.listener is None:
            assert self.call_id is not None
            metadata = wire.parse_metadata(text, self.call_id)
            self.listener = self.factory(metadata, self.send)
            log.info("%s: %s stream at %d Hz", self.label, metadata.call_type.value, metadata.rate)
            return
        try:
            message = wire.parse_control(text)
        except wire.WireError as exc:
            log.warning("%s: ignoring a text frame: %s", self.label, exc)
            return
        self.listener.on_control(message)

    def _on_audio(self, frame: bytes) -> None:
        if self.listener is None:
            raise wire.WireError("audio before the metadata frame")
        self.listener.on_audio(wire.decode_audio(frame))

    def send(self, message: dict[str, object]) -> None:
        """Send a result to FreeSWITCH (it fires mod_audio_stream::json). Safe from any greenlet."""
        if self.closed:
            return
        try:
            self._write(self.ws.send(TextMessage(data=wire.encode_message(message))))
        except (OSError, LocalProtocolError) as exc:
            log.warning("%s: cannot send to FreeSWITCH: %s", self.label, exc)

    def _write(self, data: bytes) -> None:
        with self.write_lock:
            self.sock.sendall(data)

    def _close(self, code: int, reason: str) -> None:
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)))
        except (OSError, LocalProtocolError):
            pass
        self.closed = True

    def shut_down(self) -> None:
        """The worker is going away: a close frame, then the socket is shut so ``serve`` ends."""
        self._close(1001, "worker shutting down")
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _finish(self, reason: str) -> None:
        self.closed = True
        if self.listener is not None:
            try:
                self.listener.on_end(reason)
            except Exception:
                log.exception("%s: listener failed while ending", self.label)
        elif self.call_id is not None:
            log.warning("%s: stream ended before its metadata frame: %s", self.label, reason)
        try:
            self.sock.close()
        except OSError:
            pass


class MediaServer:
    """Serves mod_audio_stream connections on ``host:port`` (0 picks a free port)."""

    def __init__(
        self, host: str, port: int, listener_factory: ListenerFactory, *, idle_timeout: float = 30.0
    ) -> None:
        self.factory = listener_factory
        self.idle_timeout = idle_timeout
        self._server = gevent.server.StreamServer((host, port), self._handle)
        self._streams: set[_Stream] = set()

    def start(self) -> None:
        self._server.start()
        log.info("media worker listening on ws://%s:%d", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return str(host), int(port)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, then close every open stream (1001 "going away"): mod_audio_stream fires
        ``::disconnect`` on each call, whose controller then starts its stream again."""
        self._server.stop(timeout=timeout)
        for stream in list(self._streams):
            stream.shut_down()

    def _handle(self, sock: gevent.socket.socket, _address: object) -> None:
        stream = _Stream(sock, self.factory, self.idle_timeout)
        self._streams.add(stream)
        try:
            stream.serve()
        finally:
            self._streams.discard(stream)
