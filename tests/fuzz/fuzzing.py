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
