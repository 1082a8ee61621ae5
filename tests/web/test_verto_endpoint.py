"""The stand-in's Verto endpoint over a real WebSocket (no browser): login and call signalling errors."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from gevent import socket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from app.sim.switch import FakeSwitch
from app.sim.verto import VertoEndpoint


class VertoTestClient:
    """A tiny blocking (greenlet) WebSocket client speaking JSON-RPC."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1", target="/")))
        self.inbox: list[dict[str, Any]] = []
        self.accepted = False
        while not self.accepted:
            self._pump()
        self.ids = iter(range(1, 1000))

    def _pump(self) -> None:
        with gevent.Timeout(5):
            data = self.sock.recv(65536)
        assert data, "the endpoint closed the connection"
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted = True
            elif isinstance(event, TextMessage):
                self.inbox.append(json.loads(event.data))

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self.ids)
        message = {
            "jsonrpc": "2.0",
            "method": method,
            "params": {**params, "sessid": "s-1"},
            "id": request_id,
        }
        self.sock.sendall(self.ws.send(TextMessage(data=json.dumps(message))))
        while True:
            for reply in self.inbox:
                if reply.get("id") == request_id and "method" not in reply:
                    self.inbox.remove(reply)
                    return reply
            self._pump()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def endpoint() -> Iterator[VertoEndpoint]:
    with (
        FakeSwitch(password=secrets.token_hex(8)) as switch,
        VertoEndpoint(switch, users={"1000": "right"}, socket_target="127.0.0.1:1 async full") as verto,
    ):
        yield verto


def test_calls_need_a_login_and_a_good_password(endpoint: VertoEndpoint) -> None:
    client = VertoTestClient(endpoint.port)
    try:
        refused = client.call("verto.invite", {"sdp": "v=0", "dialogParams": {"callID": "c-1"}})
        assert refused["error"]["code"] == -32000
        wrong = client.call("login", {"login": "1000@127.0.0.1", "passwd": "wrong"})
        assert wrong["error"]["code"] == -32001
        right = client.call("login", {"login": "1000@127.0.0.1", "passwd": "right"})
        assert right["result"] == {"message": "logged in", "sessid": "s-1"}
        unknown = client.call("fsapi", {"cmd": "status"})
        assert unknown["error"]["code"] == -32601
        no_call = client.call("verto.bye", {"dialogParams": {"callID": "nope"}})
        assert "error" in no_call
    finally:
        client.close()


def test_an_offer_that_is_not_sdp_creates_no_call(endpoint: VertoEndpoint) -> None:
    client = VertoTestClient(endpoint.port)
    try:
        client.call("login", {"login": "1000", "passwd": "right"})
        reply = client.call("verto.invite", {"sdp": "garbage", "dialogParams": {"callID": "c-2"}})
        assert reply["error"]["code"] == -32600
        assert endpoint.switch.find_call("c-2") is None
    finally:
        client.close()
