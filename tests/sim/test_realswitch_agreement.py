"""Where the real switch's transcripts and the stand-in disagreed, the stand-in now says what the switch says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.esl.protocol import MessageReader, connect_reply_event
from app.sim.switch import FakeSwitch
from tests.sim.esl_client import Controller


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password="s3cret", recordings_dir=tmp_path) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Controller]:
    ctl = Controller()
    yield ctl
    ctl.stop()


@pytest.mark.parametrize("fixture", ["outbound-socket-call", "realswitch-did-call"])
def test_an_inbound_call_is_ringing_when_the_socket_connects(
    switch: FakeSwitch, controller: Controller, fs_fixtures: Path, fixture: str
) -> None:
    received = (fs_fixtures / f"{fixture}.received.txt").read_bytes()
    real = connect_reply_event(next(iter(MessageReader().feed(received))))
    switch.place_call(destination="15555550100", socket=f"{controller.address} async full")
    reply = controller.client().command("connect")
    assert reply.headers["Channel-Call-State"] == real.headers["Channel-Call-State"] == "RINGING"
