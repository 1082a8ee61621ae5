"""A small blocking inbound Event Socket client for probing a real FreeSWITCH, independent of app/esl.

It keeps every byte it received (``transcript``), so a test can store what the real switch said as a
fixture, and it parses with the application's own framing (:mod:`app.esl.protocol`), which is what the
fixtures check.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Callable

from app.esl.protocol import (
    CONTENT_API_RESPONSE,
    CONTENT_AUTH_REQUEST,
    CONTENT_COMMAND_REPLY,
    EslMessage,
    Event,
    MessageReader,
    parse_event,
)


class EslClosed(ConnectionError):
    """FreeSWITCH closed the connection (or never spoke)."""


class EslProbe:
    """One connection to the event socket: read messages, send commands, keep the raw transcript."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 5.0,
        connect: Callable[..., socket.socket] = socket.create_connection,
    ) -> None:
        """``connect``: ``gevent.socket.create_connection`` to read without blocking the stack's greenlets."""
        self.sock = connect((host, port), timeout=timeout)
        self.timeout = timeout
        self.transcript = bytearray()
        self.sent = bytearray()
        self._reader = MessageReader()
        self._pending: deque[EslMessage] = deque()

    def close(self) -> None:
        """Close the socket (FreeSWITCH sees the client leave)."""
        self.sock.close()

    def __enter__(self) -> EslProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, timeout: float | None = None) -> EslMessage:
        """The next message, waiting at most ``timeout`` seconds (the connection's default)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message from FreeSWITCH in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise EslClosed("FreeSWITCH closed the event socket")
            self.transcript.extend(data)
            self._pending.extend(self._reader.feed(data))
        return self._pending.popleft()

    def read_until(self, content_type: str, timeout: float | None = None) -> EslMessage:
        """Skip messages until one of ``content_type`` arrives."""
        while True:
            message = self.read(timeout)
            if message.content_type == content_type:
                return message

    def send(self, command: str) -> None:
        """Send one command line (the blank line that ends it is added)."""
        data = f"{command}\n\n".encode()
        self.sent.extend(data)
        self.sock.sendall(data)

    def authenticate(self, password: str) -> EslMessage:
        """Wait for ``auth/request``, answer it, and return FreeSWITCH's reply (``+OK`` or ``-ERR``)."""
        self.read_until(CONTENT_AUTH_REQUEST)
        self.send(f"auth {password}")
        return self.read_until(CONTENT_COMMAND_REPLY)

    def command(self, command: str) -> EslMessage:
        """Send a command and return its ``command/reply``."""
        self.send(command)
        return self.read_until(CONTENT_COMMAND_REPLY)

    def api(self, command: str, timeout: float | None = None) -> str:
        """Run ``api <command>`` and return the response body as text."""
        self.send(f"api {command}")
        return self.read_until(CONTENT_API_RESPONSE, timeout).body.decode(errors="replace")

    def event(self, timeout: float | None = None) -> Event:
        """The next event (subscribe first with ``command('event plain ...')``)."""
        while True:
            message = self.read(timeout)
            if message.is_event:
                return parse_event(message)
