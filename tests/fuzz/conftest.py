"""The fuzz tier's shared fixtures: one stand-in FreeSWITCH and one stack for every socket test.

The hypothesis profiles are registered (and the one in ``HYPOTHESIS_PROFILE`` loaded) by importing
:mod:`tests.fuzz.fuzzing`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

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
