"""A TCP relay on a fixed port that the chaos bench can cut, close and reopen.

Put in front of the stand-in's event socket it plays FreeSWITCH's listener going away (every inbound
connection closed, new ones refused) and coming back; in front of the media worker it plays the worker
process dying (its WebSocket connections cut without a close frame, as a SIGKILL does) and its
supervisor starting it again. The far side keeps running: only the path is cut.
"""

from __future__ import annotations

import contextlib

import gevent
from gevent import socket
from gevent.server import StreamServer


class Relay:
    """Listens on ``port`` (127.0.0.1) and pipes each connection to ``upstream``."""

    def __init__(self, port: int, upstream: tuple[str, int]) -> None:
        self.port = port
        self.upstream = upstream
        self._server: StreamServer | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    def open(self) -> None:
        """Accept connections (again)."""
        if self._server is None:
            self._server = StreamServer(("127.0.0.1", self.port), self._serve)
            self._server.start()

    def cut(self) -> int:
        """Close every relayed connection at once; returns how many were cut."""
        pairs = list(self._pairs)
        for client, server in pairs:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._pairs.clear()
        return len(pairs)

    def close(self) -> int:
        """Stop listening (connections are refused) and cut what is open."""
        if self._server is not None:
            self._server.close()
            self._server = None
        return self.cut()

    def _serve(self, client: socket.socket, _address: object) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)  # the timeout was for connecting: an idle stream is not a dead one
        pair = (client, server)
        self._pairs.add(pair)
        pipes = [gevent.spawn(_pipe, client, server), gevent.spawn(_pipe, server, client)]
        gevent.joinall(pipes, count=1)
        self._pairs.discard(pair)
        for sock in pair:
            sock.close()
        gevent.killall(pipes, block=False)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                return
            sink.sendall(data)
    except OSError:
        return
