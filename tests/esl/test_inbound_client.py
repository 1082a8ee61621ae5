"""The supervised inbound ESL client against the FreeSWITCH stand-in: auth, api, bgapi, reconnects."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import gevent
import pytest

from app.esl import commands
from app.esl.inbound import ApiError, Backoff, EslUnavailable, InboundClient
from app.esl.protocol import Event
from app.sim.switch import FakeSwitch

FAST = Backoff(minimum=0.05, maximum=0.2)


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    fs = FakeSwitch(password=secrets.token_hex(8))
    fs.start()
    yield fs
    fs.stop()


def client_for(fs: FakeSwitch, password: str | None = None, **kwargs: object) -> InboundClient:
    client = InboundClient("127.0.0.1", fs.esl_port, password or fs.password, backoff=FAST, **kwargs)  # type: ignore[arg-type]
    client.start()
    return client


def test_api_and_background_originate(switch: FakeSwitch) -> None:
    client = client_for(switch)
    try:
        assert client.wait_connected(5)
        assert "UP" in client.api("status")
        call_id = str(uuid.uuid4())
        job = client.bgapi(commands.originate({"origination_uuid": call_id}, ["loopback/9998/default"], "&park()"))
        assert job.get(timeout=10).strip() == f"+OK {call_id}"
        assert client.api(commands.uuid_kill(call_id)).startswith("+OK")
        with pytest.raises(ApiError, match="No such channel"):
            client.api(commands.uuid_kill(call_id))
    finally:
        client.stop()


def test_failed_originate_resolves_with_the_cause(switch: FakeSwitch) -> None:
    client = client_for(switch)
    try:
        assert client.wait_connected(5)
        job = client.bgapi(commands.originate({}, ["sofia/gateway/nowhere/+15551234567"], "&park()"))
        assert job.get(timeout=10).startswith("-ERR ")
    finally:
        client.stop()


def test_wrong_password_never_connects_and_keeps_retrying(switch: FakeSwitch) -> None:
    client = client_for(switch, password="wrong-password")
    try:
        assert not client.wait_connected(0.5)
        with pytest.raises(EslUnavailable):
            client.api("status")
    finally:
        client.stop()


def test_reconnects_and_resubscribes_after_freeswitch_restarts(switch: FakeSwitch) -> None:
    seen: list[Event] = []
    client = client_for(switch, events=["BACKGROUND_JOB", "CHANNEL_ANSWER"], on_event=seen.append)
    try:
        assert client.wait_connected(5)
        port, password = switch.esl_port, switch.password
        switch.stop()
        with gevent.Timeout(5):
            while client.connected.is_set():
                gevent.sleep(0.01)
        with pytest.raises(EslUnavailable):
            client.api("status")

        restarted = FakeSwitch(password=password, port=port)
        restarted.start()
        try:
            assert client.wait_connected(10)
            assert client.connections_made == 2
            call_id = str(uuid.uuid4())
            job = client.bgapi(commands.originate({"origination_uuid": call_id}, ["loopback/9998/default"], "&park()"))
            assert job.get(timeout=10).strip() == f"+OK {call_id}"
            with gevent.Timeout(5):
                while not any(e.name == "CHANNEL_ANSWER" and e.unique_id == call_id for e in seen):
                    gevent.sleep(0.01)
        finally:
            restarted.stop()
    finally:
        client.stop()


def test_backoff_grows_and_is_bounded() -> None:
    backoff = Backoff(minimum=0.5, maximum=8.0)
    assert backoff.delay(0, rng=lambda: 1.0) == 0.5
    assert backoff.delay(3, rng=lambda: 1.0) == 4.0
    assert backoff.delay(10, rng=lambda: 1.0) == 8.0
    assert backoff.delay(10, rng=lambda: 0.0) == 0.5
