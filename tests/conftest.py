"""Shared test helpers: the real FreeSWITCH captures, and the whole stack against the stand-in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.wiring import Stack

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "freeswitch-1.10.12"
# The real FreeSWITCH (``real_switch``) for any directory: the real-switch tier and the contract tests.
pytest_plugins = ("tests.realswitch.fixtures",)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--freeswitch PREFIX``: also run the real-switch tier (tests/realswitch) against that build."""
    parser.addoption(
        "--freeswitch",
        metavar="PREFIX",
        default=os.environ.get("CALLBRIDGE_TEST_FREESWITCH") or None,
        help="a FreeSWITCH built by docker/build-freeswitch.sh: run the real-switch tier against it "
        "(default: $CALLBRIDGE_TEST_FREESWITCH; without either, that tier is skipped)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realswitch: needs a real FreeSWITCH (--freeswitch PREFIX)")


@pytest.fixture(scope="session")
def fs_fixtures() -> Path:
    """The byte-exact FreeSWITCH 1.10.12 transcripts (``tests/fixtures/freeswitch-1.10.12``)."""
    assert FIXTURES.is_dir(), f"missing the FreeSWITCH fixtures at {FIXTURES}"
    return FIXTURES


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    """Controller, media worker and call log in this process (``settings`` comes from the test's folder)."""
    upgrade(settings.database_url)
    running = Stack.build(settings)
    running.start(advertise_bound_media=True)
    yield running
    running.stop()


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    """The FreeSWITCH stand-in, recording every call under the test's tmp_path."""
    (tmp_path / "recordings").mkdir()
    fs = FakeSwitch(password=secrets.token_hex(8), recordings_dir=tmp_path / "recordings")
    fs.start()
    yield fs
    fs.stop()
