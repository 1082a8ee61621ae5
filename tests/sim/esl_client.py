"""Test helper: a minimal ESL client (inbound or accepted outbound socket) over a real TCP socket."""

from __future__ import annotations

from collections.abc import Callable

import gevent.event
from gevent import socket
from gevent.server import StreamServer

from tests.sim.transcript import Message, MessageReader, parse_message

TIMEOUT = 10.0


class EslClient:
    """Sends commands and collects every message; waits on conditions with timeouts."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.messages: list[Message] = []
        self.closed = gevent.event.Event()
        self._changed = gevent.event.Event()
        self._reader = MessageReader()
        self._greenlet = gevent.spawn(self._read_loop)

    @classmethod
    def inbound(cls, port: int, password: str) -> EslClient:
        """Connect to the stand-in's ESL port and authenticate."""
        client = cls(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
        client.wait_for(lambda m: m.content_type == "auth/request")
        reply = client.command(f"auth {password}")
        assert reply.headers["Reply-Text"] == "+OK accepted"
        return client

    def _read_loop(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for raw in self._reader.feed(data):
                    self.messages.append(parse_message(raw))
                    self._changed.set()
        except OSError:
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def send(self, text: str) -> None:
        """Send one command (a trailing blank line is added)."""
        self.sock.sendall(text.encode() + b"\n\n")

    def command(self, text: str) -> Message:
        """Send a command and return its reply (the next command/reply or api/response)."""
        start = len(self.messages)
        self.send(text)
        return self.wait_for(
            lambda m: m.content_type in ("command/reply", "api/response") or "Event-Name" in m.headers,
            start=start,
        )

    def api(self, text: str) -> str:
        """``api <text>``: the response body."""
        return self.command(f"api {text}").body.decode()

    def wait_for(
        self, predicate: Callable[[Message], bool], start: int = 0, timeout: float = TIMEOUT
    ) -> Message:
        """The first message from index ``start`` on that satisfies ``predicate``."""
        deadline = gevent.get_hub().loop.now() + timeout
        index = start
        while True:
            while index < len(self.messages):
                if predicate(self.messages[index]):
                    return self.messages[index]
                index += 1
            if self.closed.is_set():
                raise AssertionError("connection closed while waiting")
            remaining = deadline - gevent.get_hub().loop.now()
            if remaining <= 0:
                raise AssertionError("timed out waiting for a message")
            self._changed.clear()
            self._changed.wait(remaining)

    def wait_event(self, name: str, start: int = 0, timeout: float = TIMEOUT, **headers: str) -> Message:
        """The first event named ``name`` (with the given header values) from index ``start`` on."""

        def matches(message: Message) -> bool:
            if message.event_name != name or not message.event:
                return False
            return all(message.event_header(key.replace("_", "-")) == value for key, value in headers.items())

        return self.wait_for(matches, start=start, timeout=timeout)

    def event_names(self) -> list[str]:
        """Names of the events received so far."""
        return [m.event_name or "" for m in self.messages if m.event]

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class Controller:
    """An outbound-socket target: accepts the stand-in's connection and hands over an EslClient."""

    def __init__(self) -> None:
        self.clients: list[EslClient] = []
        self.connected = gevent.event.Event()
        self.server = StreamServer(("127.0.0.1", 0), self._accept)
        self.server.start()

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.server.server_port}"

    def _accept(self, sock: socket.socket, _address: object) -> None:
        client = EslClient(sock)
        self.clients.append(client)
        self.connected.set()
        client.closed.wait()

    def client(self, timeout: float = TIMEOUT) -> EslClient:
        """The first connection from the stand-in."""
        assert self.connected.wait(timeout), "the stand-in did not connect"
        return self.clients[0]

    def stop(self) -> None:
        """Stop accepting."""
        self.server.stop(timeout=1)
