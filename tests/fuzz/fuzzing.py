"""Helpers of the fuzz tier: hypothesis profiles, a call kept up while a socket is fuzzed, raw exchanges.

Profiles (``HYPOTHESIS_PROFILE``, default ``ci``):

- ``ci``: derandomized (the same examples on every run, so CI is reproducible), no example database,
  no deadline (two busy cores make per-example timing meaningless; input sizes are bounded instead);
- ``deep``: random, ten times the examples, for a developer hunting bugs:
  ``HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/fuzz``.

Every test bounds its input size, so no example can take long whatever the profile. A test's own
``max_examples`` is scaled by the profile through :func:`examples`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import gevent.socket
from hypothesis import HealthCheck, settings
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

from app.sim.switch import FakeSwitch, SimCall
from app.wiring import Stack

FLOW = Path(__file__).resolve().parent.parent / "integration" / "data" / "short.yaml"
GREETING = "Hello. Say something."
# Events that only appear when something went wrong with the call's own path.
DAMAGE = ("controller_error", "worker_message_invalid", "esl_connection_lost", "audio_stream_error")

# Session-scoped fixtures are shared on purpose; a socket example is slow by nature, not by mistake.
_CHECKS = (HealthCheck.function_scoped_fixture, HealthCheck.too_slow)
settings.register_profile(
    "ci", derandomize=True, print_blob=True, deadline=None, database=None, suppress_health_check=_CHECKS
)
settings.register_profile(
    "deep", derandomize=False, deadline=None, database=None, suppress_health_check=_CHECKS
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """``count`` examples in the ``ci`` profile, ten times as many in ``deep``."""
    return count * 10 if PROFILE == "deep" else count


def event_names(stack: Stack, uuid: str) -> list[str]:
    """The call log's event names for one call, in order."""
    return [event.name for event in stack.call_log.events(uuid)]


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` (letting the servers' greenlets run) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        gevent.sleep(0.05)
    return False


def place_listening_call(switch: FakeSwitch, stack: Stack) -> SimCall:
    """An inbound call through the controller, once its audio reaches the worker and the greeting played."""
    call = switch.place_call(
        destination="+15557654321",
        caller_id_number="+15551230000",
        caller_id_name="Fuzz Caller",
        socket=f"127.0.0.1:{stack.controller_port} async full",
        variables={"call_type": "sip"},
        rate=8000,
        context="public",
    )
    assert call.wait_answered(15), "the controller did not answer"
    assert wait_for(lambda: "PLAYBACK_STOP" in event_names(stack, call.uuid), 30), event_names(
        stack, call.uuid
    )
    return call


def assert_record_intact(stack: Stack, call: SimCall) -> None:
    """The call ended as the caller's hang-up, and its record says exactly that and nothing worse."""
    assert call.wait_ended(15)
    assert stack.controller_finished(call.uuid, timeout=15)
    record = stack.call_log.get_call(call.uuid)
    assert record is not None
    assert record.state == "ended", record
    assert record.answered_at is not None and record.ended_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING"
    assert (record.caller, record.callee) == ("+15551230000", "+15557654321")
    names = event_names(stack, call.uuid)
    for expected in ("CHANNEL_ANSWER", "audio_stream_connected", "CHANNEL_HANGUP_COMPLETE"):
        assert expected in names, names
    assert not [name for name in names if name in DAMAGE], names
    turns = stack.call_log.turns(call.uuid)
    assert [(t.speaker, t.text) for t in turns][:1] == [("agent", GREETING)]


@contextmanager
def call_in_progress(switch: FakeSwitch, stack: Stack) -> Iterator[SimCall]:
    """A call that is up for the whole block, hung up by the caller after it; its record is then checked."""
    call = place_listening_call(switch, stack)
    yield call
    assert not call.ended.is_set(), "the call ended while the socket was fuzzed"
    call.hangup()
    assert_record_intact(stack, call)


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Connect, send ``data``, half-close, and read until the server closes; a server that never
    closes after the client's end of stream fails the test (a hang)."""
    received = bytearray()
    with gevent.socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        try:
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
        except OSError:
            return bytes(received)  # the server closed first (e.g. it refused the handshake): fine
        raw.settimeout(timeout)
        while True:
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                raise AssertionError(f"the server on port {port} neither answered nor closed") from None
            if not chunk:
                break
            received += chunk
    return bytes(received)


class RawWebSocket:
    """A minimal WebSocket client (wsproto over a gevent socket) that can also send raw bytes mid-stream."""

    def __init__(self, port: int, path: str, *, timeout: float = 10.0) -> None:
        self.sock = gevent.socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.accepted: bool | None = None
        self.texts: list[str] = []
        self.closed_with: int | None = None
        self._parts: list[str] = []
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1", target=path)))
        while self.accepted is None and self._pump():
            pass

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data=data)))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive_text(self) -> str | None:
        """The next text message, or None once the server has closed."""
        while not self.texts:
            if self.closed_with is not None or not self._pump():
                return None
        return self.texts.pop(0)

    def close(self) -> int | None:
        """Send a close frame and read until the server's; returns its code (None: no close frame)."""
        if self.closed_with is None and self.ws.state is ConnectionState.OPEN:
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        while self.closed_with is None and self._pump():
            pass
        self.sock.close()
        return self.closed_with

    def drain(self) -> None:
        """Half-close and read until the server closes the connection (a server that never does fails)."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while self._pump():
            pass
        self.sock.close()

    def _pump(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return False
        except TimeoutError:
            raise AssertionError("the WebSocket server neither answered nor closed") from None
        if not data:
            return False
        try:
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self.accepted = True
                elif isinstance(event, RejectConnection):
                    self.accepted = False
                elif isinstance(event, TextMessage):
                    self._parts.append(event.data)
                    if event.message_finished:
                        self.texts.append("".join(self._parts))
                        self._parts = []
                elif isinstance(event, CloseConnection):
                    self.closed_with = event.code
                    if self.ws.state is not ConnectionState.CLOSED:
                        try:
                            self.sock.sendall(self.ws.send(event.response()))
                        except OSError:
                            return False  # the server closed its end right after its close frame
        except RemoteProtocolError:
            return False
        return True
