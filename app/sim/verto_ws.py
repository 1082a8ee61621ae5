"""Server side of a text-only WebSocket on a gevent socket (wsproto), as mod_verto's endpoint uses it."""

from __future__ import annotations

import logging

import gevent.lock
import gevent.socket
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

logger = logging.getLogger(__name__)

READ_SIZE = 65536


class TextWebSocket:
    """One accepted WebSocket connection; ``receive`` blocks the calling greenlet."""

    def __init__(self, sock: gevent.socket.socket) -> None:
        self.sock = sock
        self.path = ""
        self._ws = WSConnection(ConnectionType.SERVER)
        self._inbox: list[str] = []
        self._partial: list[str] = []
        self._closed = False
        self._write_lock = gevent.lock.RLock()

    @property
    def closed(self) -> bool:
        return self._closed

    def accept(self) -> bool:
        """Read the HTTP upgrade and accept it; False if the peer went away or spoke something else."""
        while not self.path:
            if not self._pump():
                return False
        return True

    def receive(self) -> str | None:
        """The next text message, or None once the connection is closed."""
        while not self._inbox:
            if self._closed or not self._pump():
                return None
        return self._inbox.pop(0)

    def send(self, text: str) -> None:
        """Send one text message (ignored once closed)."""
        with self._write_lock:
            if self._closed:
                return
            try:
                self.sock.sendall(self._ws.send(TextMessage(data=text)))
            except (OSError, LocalProtocolError):
                self._closed = True

    def close(self) -> None:
        """Close politely, then drop the socket."""
        with self._write_lock:
            if not self._closed:
                self._closed = True
                try:
                    self.sock.sendall(self._ws.send(CloseConnection(code=1000)))
                except (OSError, LocalProtocolError):
                    pass
        try:
            self.sock.close()
        except OSError:
            pass

    def _pump(self) -> bool:
        try:
            data = self.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data:
            self._closed = True
            return False
        try:
            self._ws.receive_data(data)
            for event in self._ws.events():
                self._handle(event)
        except RemoteProtocolError as error:
            logger.warning("verto websocket protocol error: %s", error)
            self._closed = True
            return False
        return True

    def _handle(self, event: object) -> None:
        if isinstance(event, Request):
            self.path = event.target or "/"
            with self._write_lock:
                self.sock.sendall(self._ws.send(AcceptConnection()))
        elif isinstance(event, TextMessage):
            self._partial.append(event.data)
            if event.message_finished:
                self._inbox.append("".join(self._partial))
                self._partial = []
        elif isinstance(event, Ping):
            with self._write_lock:
                self.sock.sendall(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            with self._write_lock:
                if not self._closed:
                    try:
                        self.sock.sendall(self._ws.send(event.response()))
                    except (OSError, LocalProtocolError):
                        pass
            self._closed = True
        elif isinstance(event, BytesMessage):
            logger.debug("verto websocket: binary frame ignored")
