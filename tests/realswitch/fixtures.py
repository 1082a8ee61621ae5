"""The real FreeSWITCH as session fixtures, for the real-switch tier and the contract tests' ``freeswitch`` line.

Registered from tests/conftest.py as a plugin, so any test directory can ask for ``real_switch``. Without
``--freeswitch PREFIX`` (or ``CALLBRIDGE_TEST_FREESWITCH``) a test that asks is skipped, saying how to build
one; with a PREFIX that holds no build it fails, since the run asked for it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realswitch.harness import Ports, RealSwitch, free_port

NO_SWITCH = (
    "no real FreeSWITCH: build one with `docker/build-freeswitch.sh <directory of the pinned source "
    "tarballs>` (7-10 minutes the first time) and run pytest with `--freeswitch <the prefix it printed>` "
    "or CALLBRIDGE_TEST_FREESWITCH=<prefix>"
)


@pytest.fixture(scope="session")
def freeswitch_prefix(request: pytest.FixtureRequest) -> Path:
    """The built prefix given with ``--freeswitch``; skips the test when none was given."""
    value = request.config.getoption("--freeswitch")
    if not value:
        pytest.skip(NO_SWITCH)
    prefix = Path(value).expanduser().resolve()
    if not (prefix / "bin" / "freeswitch").is_file() or not (prefix / ".callbridge-build-stamp").is_file():
        pytest.fail(f"--freeswitch {value}: no finished build of docker/build-freeswitch.sh there")
    return prefix


@pytest.fixture(scope="session")
def real_switch(freeswitch_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSwitch]:
    """One FreeSWITCH for the session, configured as docs/admin.md says, on loopback and free ports.

    The dialplan's ``socket`` target (``ports.controller``) is fixed when the switch starts; a test's stack
    listens on a port of its own behind a :class:`~tests.realswitch.tap.Tap` on that target.
    """
    workdir = tmp_path_factory.mktemp("freeswitch")
    switch = RealSwitch(freeswitch_prefix, workdir, Ports.allocate(free_port()))
    switch.start()
    yield switch
    status = switch.stop()
    assert status == 0, f"FreeSWITCH exited with {status} on SIGTERM\n{switch.log_tail()}"
    shutil.rmtree(workdir / "sounds", ignore_errors=True)
