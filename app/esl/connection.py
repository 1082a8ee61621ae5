"""ESL connections on greenswitch + gevent, reading the wire with :mod:`app.esl.protocol`.

greenswitch gives us the greenlets, the reply queue and the event-handler registry; its own parser
URL-decodes whole blocks before splitting them and drops event bodies, and a dropped socket leaves
callers waiting forever, so the reading and sending edges are replaced here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import gevent
import gevent.event
import gevent.socket
from greenswitch import esl as gs

from app.esl import commands
from app.esl.protocol import (
    CONTENT_API_RESPONSE,
    CONTENT_AUTH_REQUEST,
    CONTENT_COMMAND_REPLY,
    CONTENT_DISCONNECT,
    CONTENT_RUDE_REJECTION,
    EslMessage,
    Event,
    MessageReader,
    ProtocolError,
    connect_reply_event,
    parse_event,
    serialize_command,
)

log = logging.getLogger(__name__)

DISCONNECT = "DISCONNECT"
"""Handler name for a disconnect notice or a lost connection (greenswitch's convention)."""


class ConnectionLost(gs.NotConnectedError):  # type: ignore[misc]
    """The socket closed (or sent garbage) while a command waited for its reply."""


class CommandTimeout(TimeoutError):
    """FreeSWITCH did not answer a command in time."""


class Notice:
    """A disconnect notice, or the news that the socket closed, in greenswitch's event shape."""

    def __init__(self, headers: Mapping[str, str], body: str = "") -> None:
        self.headers = dict(headers)
        self.body = body

    @property
    def lost(self) -> bool:
        return self.headers.get("Content-Disposition") == "connection-lost"


class _EslWire(gs.ESLProtocol):  # type: ignore[misc]
    """Replaces greenswitch's reader and sender; keeps its handler registry and greenlets."""

    sock: gevent.socket.socket
    _commands_sent: list[gevent.event.AsyncResult]
    label: str = "esl"
    command_timeout: float = 10.0

    def receive_events(self) -> None:
        reader = MessageReader()
        reason = "closed by peer"
        while self._run:
            try:
                data = self.sock.recv(65536)
            except OSError as exc:
                reason = f"socket error: {exc}"
                break
            if not data:
                break
            try:
                for message in reader.feed(data):
                    self._dispatch(message)
            except ProtocolError as exc:
                reason = f"protocol error: {exc}"
                log.error("%s: closing the connection: %s", self.label, exc)
                break
        self._connection_closed(reason)

    def _dispatch(self, message: EslMessage) -> None:
        kind = message.content_type
        if kind == CONTENT_AUTH_REQUEST:
            self._auth_request_event.set()
        elif kind in (CONTENT_COMMAND_REPLY, CONTENT_API_RESPONSE):
            if not self._commands_sent:
                log.warning("%s: reply with no command waiting: %r", self.label, message.reply_text)
                return
            self._commands_sent.pop(0).set(message)
        elif kind == CONTENT_DISCONNECT:
            if message.headers.get("Content-Disposition") == "linger":
                self._lingering = True
            self._esl_event_queue.put(Notice(message.headers, message.body_text))
        elif kind == CONTENT_RUDE_REJECTION:
            log.error("%s: rejected by FreeSWITCH (ACL): %s", self.label, message.body_text.strip())
            self.connected = False
            self._auth_request_event.set()
        elif message.is_event:
            try:
                event = parse_event(message)
            except ProtocolError as exc:
                log.warning("%s: dropping a malformed event: %s", self.label, exc)
                return
            self._esl_event_queue.put(event)
        else:
            log.warning("%s: ignoring a message of type %r", self.label, kind)

    def _connection_closed(self, reason: str) -> None:
        was_connected = self.connected
        self.connected = False
        self._run = False
        pending = self._commands_sent
        self._commands_sent = []
        for result in pending:
            result.set_exception(ConnectionLost(f"{self.label}: {reason}"))
        self._auth_request_event.set()
        _close_socket(self)
        if was_connected:
            log.info("%s: connection closed: %s", self.label, reason)
        # Queued behind the events already read, so a hangup that arrived just before the close comes first;
        # process_events drains the queue before it stops.
        notice = Notice({"Content-Type": CONTENT_DISCONNECT, "Content-Disposition": "connection-lost"}, reason)
        self._esl_event_queue.put(notice)

    def process_events(self) -> None:
        # Same as greenswitch's, but our events carry no Content-Type header, and the queue is drained
        # before stopping so that the last events (the hangup) are never lost.
        while self._run or not self._esl_event_queue.empty():
            try:
                item = self._esl_event_queue.get(timeout=0.5)
            except gevent.queue.Empty:
                continue
            if isinstance(item, Notice):
                handlers = self.event_handlers.get(DISCONNECT, [])
            else:
                key = item.subclass if item.name == "CUSTOM" else item.name
                handlers = self.event_handlers.get(key) or self.event_handlers.get("*", [])
            for handler in list(handlers):
                self._safe_exec_handler(handler, item)

    def send_message(
        self, command: str, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> EslMessage:
        """Send one command and return its reply (command/reply or api/response)."""
        if not self.connected:
            raise gs.NotConnectedError(f"{self.label}: not connected")
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._commands_sent.append(result)
        try:
            self.sock.sendall(serialize_command(command, headers))
        except OSError as exc:
            if result in self._commands_sent:
                self._commands_sent.remove(result)
            raise ConnectionLost(f"{self.label}: send failed: {exc}") from exc
        try:
            reply: EslMessage = result.get(timeout=timeout or self.command_timeout)
        except gevent.Timeout:
            raise CommandTimeout(f"{self.label}: no reply to {command.split(maxsplit=1)[0]!r}") from None
        return reply

    def send(self, data: str) -> EslMessage:  # greenswitch's entry point (InboundESL.authenticate etc.)
        return self.send_message(data)


class OutboundSocket(_EslWire, gs.OutboundSession):  # type: ignore[misc]
    """The channel's own socket, opened by the dialplan ``socket`` application (outbound mode)."""

    def __init__(
        self, client_address: Any, sock: gevent.socket.socket, command_timeout: float = 10.0
    ) -> None:
        gs.OutboundSession.__init__(self, client_address, sock)
        self.command_timeout = command_timeout
        self.label = f"socket {client_address[0]}:{client_address[1]}"
        # greenswitch routes CHANNEL_HANGUP past '*' handlers; we want every event in one place.
        self.event_handlers.pop("CHANNEL_HANGUP", None)
        self.event_handlers.pop("*", None)
        self.event_handlers.pop(DISCONNECT, None)
        self.channel: Event | None = None

    def connect(self) -> Event:
        """Send ``connect``; the reply is the channel (CHANNEL_DATA) with every variable."""
        reply = self.send_message("connect")
        self.channel = connect_reply_event(reply)
        self.session_data = dict(self.channel.headers)
        self._outbound_connected = True
        self.label = f"call {self.channel.unique_id}"
        return self.channel

    def on_event(self, handler: Callable[[Event | Notice], None]) -> None:
        """Route every event and the disconnect notices of this socket to ``handler``."""
        self.register_handle("*", handler)
        self.register_handle(DISCONNECT, handler)

    def close(self) -> None:
        self._run = False
        _close_socket(self)


def _close_socket(connection: gs.ESLProtocol) -> None:
    """Really close: greenswitch keeps a ``makefile`` reader, which would hold the descriptor open."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(gevent.socket.SHUT_RDWR)
    except OSError:
        pass
    reader = getattr(connection, "sock_file", None)
    if reader is not None:
        try:
            reader.close()
        except OSError:
            pass
    try:
        sock.close()
    except OSError:
        pass


def reply_ok(message: EslMessage) -> bool:
    """True for ``+OK`` replies: command/reply Reply-Text or an api/response body."""
    text = message.reply_text if message.content_type == CONTENT_COMMAND_REPLY else message.body_text
    return text.startswith("+OK")


def reply_text(message: EslMessage) -> str:
    return (
        message.reply_text if message.content_type == CONTENT_COMMAND_REPLY else message.body_text
    ).strip()


class OutboundServer(gs.OutboundESLServer):  # type: ignore[misc]
    """Accepts the dialplan's ``socket`` connections and runs ``application(socket)`` for each call.

    Unlike greenswitch's server it binds port 0 (tests), blocks in ``accept`` instead of polling, and
    never exits the process when the port is taken.
    """

    def __init__(
        self,
        host: str,
        port: int,
        application: Callable[[OutboundSocket], Any],
        max_connections: int = 500,
        command_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            bind_address=host, bind_port=port, application=application, max_connections=max_connections
        )
        self.command_timeout = command_timeout
        self.ready = gevent.event.Event()
        self._listener: gevent.socket.socket | None = None

    @property
    def port(self) -> int:
        self.ready.wait()
        return int(self.bound_port)

    def listen(self) -> None:
        listener = gevent.socket.socket()
        listener.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_REUSEADDR, 1)
        listener.bind((self.bind_address, self.bind_port[0]))
        listener.listen(128)
        self._listener = listener
        self.bound_port = listener.getsockname()[1]
        self._running = True
        self.ready.set()
        log.info(
            "controller listening for FreeSWITCH socket connections on %s:%s",
            self.bind_address,
            self.bound_port,
        )
        while self._running:
            try:
                sock, address = listener.accept()
            except OSError:
                if self._running:
                    log.exception("accept failed")
                    gevent.sleep(0.1)
                continue
            gevent.spawn(self._serve, sock, address)

    def _serve(self, sock: gevent.socket.socket, address: Any) -> None:
        session = OutboundSocket(address, sock, command_timeout=self.command_timeout)
        if self.connection_count >= self.max_connections:
            log.warning(
                "rejecting a call: %d/%d calls in progress", self.connection_count, self.max_connections
            )
            session.close()
            return
        self.connection_count += 1
        greenlet = gevent.spawn(self.application, session)
        self._greenlets.add(greenlet)
        try:
            greenlet.join()
        finally:
            self._greenlets.discard(greenlet)
            self.connection_count -= 1
            session.close()

    def stop(self) -> None:
        """Stop accepting calls; the calls in progress go on (see :meth:`drain`)."""
        self._running = False
        if self._listener is not None:
            self._listener.close()

    def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the calls in progress, then end the rest; returns how many were cut."""
        calls = list(self._greenlets)
        gevent.joinall(calls, timeout=timeout)
        remaining = [call for call in calls if not call.dead]
        gevent.killall(remaining, timeout=5)
        return len(remaining)


class InboundConnection(_EslWire, gs.InboundESL):  # type: ignore[misc]
    """One authenticated connection to FreeSWITCH's event socket (port 8021)."""

    def __init__(self, host: str, port: int, password: str, timeout: float, command_timeout: float) -> None:
        gs.InboundESL.__init__(self, host, port, password, timeout)
        self.command_timeout = command_timeout
        self.label = f"esl {host}:{port}"

    def authenticate(self) -> None:
        reply = self.send_message(commands.auth(self.password))
        if reply.reply_text != "+OK accepted":
            raise PermissionError(f"{self.label}: authentication refused ({reply.reply_text})")
