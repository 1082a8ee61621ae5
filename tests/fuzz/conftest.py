"""The fuzz tier's shared fixtures: one stand-in FreeSWITCH and one stack for every socket test.

The hypothesis profiles are registered (and the one in ``HYPOTHESIS_PROFILE`` loaded) by importing
:mod:`tests.fuzz.fuzzing`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import gevent
import gevent.hub
import pytest

from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.wiring import Stack
from tests.fuzz.fuzzing import FLOW
from tests.stack import stack_settings


@pytest.fixture(scope="session")
def fuzz_switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSwitch]:
    """One stand-in FreeSWITCH for the whole fuzz tier."""
    recordings = tmp_path_factory.mktemp("fuzz-recordings")
    fs = FakeSwitch(password=secrets.token_hex(8), recordings_dir=recordings)
    fs.start()
    yield fs
    fs.stop()


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Controller, media worker and call log (SQLite), waiting a minute for the caller's answer.

    The long no-input timeout keeps a call in its first question for as long as a test fuzzes a socket;
    the test ends the call by hanging up as the caller.
    """
    folder = tmp_path_factory.mktemp("fuzz-stack")
    settings_ = stack_settings(folder, FLOW, goodbye_text="Bye.", no_input_timeout="60", max_no_input="1")
    upgrade(settings_.database_url)
    running = Stack.build(settings_)
    running.start(advertise_bound_media=True)
    yield running
    running.stop(grace=1)


@pytest.fixture(autouse=True)
def no_hidden_crash(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test whose input crashed a server greenlet, or made a server log a caught exception.

    A socket test only sees what comes back on the wire; a greenlet that died on its input (gevent prints
    it and moves on) or a handler that logged a traceback and carried on is a crash all the same.
    """
    crashes: list[str] = []
    original = gevent.hub.Hub.handle_error

    def record(hub: gevent.hub.Hub, context: object, kind: type, value: BaseException, tb: object) -> None:
        if not issubclass(kind, gevent.GreenletExit | SystemExit | KeyboardInterrupt):
            crashes.append(f"{context}: {kind.__name__}: {value}")
        original(hub, context, kind, value, tb)

    monkeypatch.setattr(gevent.hub.Hub, "handle_error", record)
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    logged = [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info and r.levelno >= logging.ERROR]
    assert not crashes, crashes
    assert not logged, logged
