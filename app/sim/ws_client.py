"""A gevent WebSocket client that behaves like libwsc, the client inside mod_audio_stream.

It writes the opening handshake itself (``ws_handshake``) and frames with ``wsproto``
(masked, FIN=1, permessage-deflate when the server accepts it). Its behaviour follows libwsc:

- connect + handshake must finish within ``CONNECT_TIMEOUT`` (error 10 ``Timeout``); a refused or
  failed TCP connect is error 6 ``<strerror> (system error <errno>)``;
- messages sent while connecting are queued and flushed, in order, before ``on_open`` runs;
- a server close is echoed with the same code and reason, then ``on_close`` runs; a dropped
  connection is an error (1); ``on_close`` runs at most once;
- ``close()`` sends a close frame and waits ``CLOSE_TIMEOUT`` for the server's, then drops the TCP
  connection. A server that stops reading never blocks the caller: sends are queued (bounded,
  excess dropped) and written by this client's own greenlet.

Callbacks run in this client's greenlets, never in the caller's.
"""

from __future__ import annotations

import errno as errno_codes
import logging
import os
import socket
from collections.abc import Callable, Mapping
from enum import Enum

import gevent
import gevent.event
import gevent.queue
import gevent.socket
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, Pong, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from app.sim.ws_handshake import (
    HEADER_END,
    build_upgrade_request,
    new_websocket_key,
    parse_upgrade_response,
    parse_ws_url,
)

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0  # libwsc's default connection timeout, which mod_audio_stream keeps
CLOSE_TIMEOUT = 1.0  # libwsc's close timer
MAX_QUEUE = 1024  # libwsc's send queue bound
RECV_SIZE = 65536
MAX_RESPONSE_HEAD = 16384

# libwsc ErrorCode values
ERROR_IO = 1
ERROR_NOT_SUPPORTED = 4
ERROR_CONNECT_FAILED = 6
ERROR_TIMEOUT = 10
ERROR_PROTOCOL = 11


class WsState(Enum):
    """Connection life cycle."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class HandshakeError(Exception):
    """The server did not complete the upgrade."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def socket_error_text(error: OSError) -> str:
    """libwsc's wording for a socket error: ``Connection refused (system error 111)``."""
    if error.errno:
        return f"{os.strerror(error.errno)} (system error {error.errno})"
    return "Connection error"


_SendItem = Event | None  # None stops the writer


class WsClient:
    """One WebSocket connection (``ws://``; ``wss://`` is parsed but refused, see ``connect``)."""

    def __init__(
        self,
        *,
        url: str,
        log_id: str,
        offer_deflate: bool,
        extra_headers: Mapping[str, str],
        ping_interval: float | None = None,
        on_open: Callable[[], None],
        on_text: Callable[[str], None],
        on_close: Callable[[int, str], None],
        on_error: Callable[[int, str], None],
    ) -> None:
        self.target = parse_ws_url(url)
        self.log_id = log_id
        self.offer_deflate = offer_deflate
        self.extra_headers = dict(extra_headers)
        self.ping_interval = ping_interval
        self.state = WsState.CONNECTING
        self.deflate_negotiated = False
        self.dropped_messages = 0
        self._callbacks: dict[str, Callable[..., None]] = {
            "open": on_open,
            "text": on_text,
            "close": on_close,
            "error": on_error,
        }
        self._queue: gevent.queue.Queue[_SendItem] = gevent.queue.Queue()
        self._sock: gevent.socket.socket | None = None
        self._conn: Connection | None = None
        self._runner: gevent.Greenlet[[], None] | None = None
        self._writer: gevent.Greenlet[[], None] | None = None
        self._close_sent = False
        self._close_received = False
        self._close_fired = False
        self.finished = gevent.event.Event()
        """Set when the connection is over (TCP closed or never opened)."""

    @property
    def is_connected(self) -> bool:
        """True while connecting or open, like libwsc's ``isConnected``."""
        return self.state in (WsState.CONNECTING, WsState.OPEN)

    @property
    def queued(self) -> int:
        """Messages waiting for the writer (grows while the server does not read)."""
        return int(self._queue.qsize())

    def connect(self) -> None:
        """Start connecting in a greenlet; returns at once."""
        if self._runner is None:
            self._runner = gevent.spawn(self._run)

    def clear_callbacks(self) -> None:
        """Fire nothing from now on (mod_audio_stream's ``markCleanedUp``)."""
        self._callbacks = {}

    def send_text(self, text: str) -> bool:
        """Queue a text message; False when not connected or the queue is full."""
        return self._enqueue(TextMessage(data=text))

    def send_binary(self, data: bytes) -> bool:
        """Queue a binary message; False when not connected or the queue is full."""
        return self._enqueue(BytesMessage(data=data))

    def close(self, code: int = 1000, reason: str = "Normal closure") -> None:
        """Close gracefully (close frame, wait for the server's); aborts a connection still connecting."""
        if self.state in (WsState.CLOSING, WsState.CLOSED):
            return
        if self.state is WsState.CONNECTING:
            self.state = WsState.CLOSED
            if self._runner is not None:
                self._runner.kill(block=False)
            self._drop_socket()
            self.finished.set()
            return
        self.state = WsState.CLOSING
        self._queue.put(CloseConnection(code=code, reason=reason[:123]))
        gevent.spawn_later(CLOSE_TIMEOUT + 1.0, self._drop_socket)

    def _enqueue(self, item: _SendItem) -> bool:
        if not self.is_connected:
            return False
        if self._queue.qsize() >= MAX_QUEUE:
            self.dropped_messages += 1
            if self.dropped_messages == 1 or self.dropped_messages % 500 == 0:
                logger.warning("%s ws send queue full, %d dropped", self.log_id, self.dropped_messages)
            return False
        self._queue.put(item)
        return True

    def _fire(self, name: str, *args: object) -> None:
        callback = self._callbacks.get(name)
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("%s ws %s callback failed", self.log_id, name)

    def _fire_close(self, code: int, reason: str) -> None:
        if not self._close_fired:
            self._close_fired = True
            self._fire("close", code, reason)

    def _run(self) -> None:
        try:
            leftover = self._open()
        except HandshakeError as error:
            self._fail_connect(error.code, str(error))
            return
        except gevent.Timeout:
            self._fail_connect(ERROR_TIMEOUT, "Timeout")
            return
        except OSError as error:
            self._fail_connect(ERROR_CONNECT_FAILED, socket_error_text(error))
            return
        self.state = WsState.OPEN
        self._writer = gevent.spawn(self._write_loop)
        self._fire("open")
        try:
            self._read_loop(leftover)
        finally:
            self.state = WsState.CLOSED
            self._drop_socket()
            self._queue.put(None)
            self.finished.set()

    def _open(self) -> bytes:
        """TCP connect and handshake within ``CONNECT_TIMEOUT``; returns bytes read past the head."""
        if self.target.secure:
            # wss would need gevent.ssl around the socket (SNI = host, STREAM_TLS_* options).
            raise HandshakeError(ERROR_CONNECT_FAILED, "TLS not supported by the simulator")
        with gevent.Timeout(CONNECT_TIMEOUT):
            sock = gevent.socket.create_connection((self.target.host, self.target.port))
            self._sock = sock
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = build_upgrade_request(
                self.target,
                new_websocket_key(),
                offer_deflate=self.offer_deflate,
                extra_headers=self.extra_headers,
            )
            sock.sendall(request)
            received = b""
            while HEADER_END not in received:
                chunk = sock.recv(RECV_SIZE)
                if not chunk:
                    raise HandshakeError(ERROR_CONNECT_FAILED, "Connection closed during handshake (EOF)")
                received += chunk
                if len(received) > MAX_RESPONSE_HEAD:
                    raise HandshakeError(ERROR_CONNECT_FAILED, "WebSocket upgrade failed")
        head, _, leftover = received.partition(HEADER_END)
        response = parse_upgrade_response(head + HEADER_END, offered_deflate=self.offer_deflate)
        if not response.accepted:
            raise HandshakeError(ERROR_CONNECT_FAILED, "WebSocket upgrade failed")
        extensions: list[Extension] = []
        if response.deflate is not None:
            deflate = PerMessageDeflate()
            try:
                deflate.finalize(response.deflate)
                extensions.append(deflate)
                self.deflate_negotiated = True
            except (ValueError, IndexError):
                self._fire("error", ERROR_NOT_SUPPORTED, "Compression negotiation failed")
        self._conn = Connection(ConnectionType.CLIENT, extensions=extensions)
        logger.debug("%s ws open to %s (deflate %s)", self.log_id, self.target.host, self.deflate_negotiated)
        return leftover

    def _fail_connect(self, code: int, message: str) -> None:
        logger.info(
            "%s ws connect to %s:%d failed: %s", self.log_id, self.target.host, self.target.port, message
        )
        was_aborted = self.state is WsState.CLOSED
        self.state = WsState.CLOSED
        self._drop_socket()
        self.finished.set()
        if not was_aborted:
            self._fire("error", code, message)

    def _read_loop(self, leftover: bytes) -> None:
        assert self._sock is not None and self._conn is not None
        data: bytes | None = leftover
        text_parts: list[str] = []
        while True:
            if data:
                try:
                    self._conn.receive_data(data)
                    for event in self._conn.events():
                        self._handle_event(event, text_parts)
                except RemoteProtocolError as error:
                    self._fail_open(ERROR_PROTOCOL, f"WebSocket protocol error (1002): {error}")
                    return
            try:
                data = self._sock.recv(RECV_SIZE)
            except OSError as error:
                self._fail_open(ERROR_IO, socket_error_text(error))
                return
            if not data:
                if self._close_sent or self._close_received:
                    self._fire_close(1000, "Normal closure")
                else:
                    self._fail_open(ERROR_IO, "Connection closed without WebSocket CLOSE (abnormal EOF)")
                return

    def _fail_open(self, code: int, message: str) -> None:
        if self.state is WsState.CLOSING or self._close_sent or self._close_received:
            return
        logger.info("%s ws connection failed: %s", self.log_id, message)
        self._fire("error", code, message)

    def _handle_event(self, event: Event, text_parts: list[str]) -> None:
        if isinstance(event, TextMessage):
            text_parts.append(event.data)
            if event.message_finished:
                message = "".join(text_parts)
                text_parts.clear()
                self._fire("text", message)
        elif isinstance(event, BytesMessage):
            pass  # mod_audio_stream registers no binary callback: server audio frames are ignored
        elif isinstance(event, Ping):
            self._queue.put(Pong(payload=event.payload))
        elif isinstance(event, CloseConnection):
            self._close_received = True
            logger.debug("%s ws server closed: %s %r", self.log_id, event.code, event.reason)
            if not self._close_sent:
                self.state = WsState.CLOSING
                self._queue.put(CloseConnection(code=event.code, reason=event.reason or ""))
            self._fire_close(int(event.code), event.reason or "")

    def _write_loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.ping_interval)
            except gevent.queue.Empty:
                item = Ping(payload=b"ping")  # STREAM_HEART_BEAT: nothing sent for a while
            if item is None:
                return
            try:
                self._send(item)
            except OSError as error:
                logger.debug("%s ws write failed: %s", self.log_id, error)
                return

    def _send(self, event: Event) -> None:
        """Write one queued event; data frames are skipped once the connection is closing."""
        conn, sock = self._conn, self._sock
        if conn is None or sock is None:
            return
        if isinstance(event, CloseConnection):
            if self._close_sent or conn.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                return
            self._close_sent = True
            gevent.spawn_later(CLOSE_TIMEOUT, self._close_timer_expired)
        elif conn.state is not ConnectionState.OPEN:
            return
        try:
            data = conn.send(event)
        except LocalProtocolError:
            return
        sock.sendall(data)

    def _close_timer_expired(self) -> None:
        if self.finished.is_set():
            return
        self._fire_close(1000, "Normal closure")
        self._drop_socket()

    def _drop_socket(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.close()
        except OSError as error:
            if error.errno != errno_codes.EBADF:
                logger.debug("%s ws close failed: %s", self.log_id, error)
