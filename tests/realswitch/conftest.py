"""The real-switch tier: FreeSWITCH 1.10.12 built by docker/build-freeswitch.sh, run by the harness.

Run it with ``--freeswitch PREFIX`` (or ``CALLBRIDGE_TEST_FREESWITCH=PREFIX``), PREFIX being what the
build script printed. Without it every test here is skipped, saying how to build one; with a PREFIX that
holds no build they fail, since the run asked for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.store import upgrade
from app.tts.base import Audio, write_wav
from app.wiring import Stack
from tests.realswitch.harness import RealSwitch, free_port
from tests.realswitch.tap import Tap
from tests.stack import stack_settings

HERE = Path(__file__).resolve().parent
SHORT_FLOW = HERE.parent / "integration" / "data" / "short.yaml"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``realswitch`` (``-m 'not realswitch'`` leaves them out)."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.realswitch)


@pytest.fixture
def real_settings(tmp_path: Path, real_switch: RealSwitch) -> Settings:
    """The short flow's settings, on a port of their own behind the tap (``tap``)."""
    base = stack_settings(tmp_path, SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="2.5", max_no_input="1")
    return base.model_copy(
        update={
            "controller_port": free_port(),
            "esl_port": real_switch.ports.esl,
            "esl_password": SecretStr(real_switch.esl_password),
        }
    )


@pytest.fixture
def tap(real_settings: Settings, real_switch: RealSwitch, tmp_path: Path) -> Iterator[Tap]:
    """The recording relay where the dialplan's socket points: every outbound-socket byte, both ways."""
    relay = Tap(real_switch.ports.controller, real_settings.controller_port, tmp_path / "esl")
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture
def real_stack(real_settings: Settings, tap: Tap) -> Iterator[Stack]:
    """Controller, media worker and call log in this process, as ``callbridge serve`` runs them."""
    upgrade(real_settings.database_url)
    running = Stack.build(real_settings)
    running.start(advertise_bound_media=True)
    yield running
    running.stop(grace=5)


@pytest.fixture(scope="session")
def caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of silence, two seconds of a 440 Hz tone (the stand-in tests' caller), then silence.

    The trailing 20 s of silence keep RTP flowing, as a phone does: on the real switch a parked channel
    whose caller sends no RTP at all executes nothing queued for it (test_no_rtp.py), which is not what
    these tests are about.
    """
    rate = 8000
    t = np.arange(int(2.0 * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    silence = np.zeros(rate // 2, dtype=np.int16)
    path = tmp_path_factory.mktemp("caller") / "caller.wav"
    write_wav(path, Audio(np.concatenate([silence, tone, np.zeros(20 * rate, dtype=np.int16)]), rate))
    return path


@pytest.fixture(scope="session")
def short_caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same caller without the trailing silence: RTP stops 2.5 s into the call."""
    rate = 8000
    t = np.arange(int(2.0 * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    path = tmp_path_factory.mktemp("caller") / "short-caller.wav"
    write_wav(path, Audio(np.concatenate([np.zeros(rate // 2, dtype=np.int16), tone]), rate))
    return path


@pytest.fixture(scope="session")
def silence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 ms of digital silence: looped by SIPp, a caller who says nothing but keeps sending RTP."""
    path = tmp_path_factory.mktemp("caller") / "silence.wav"
    write_wav(path, Audio(np.zeros(1600, dtype=np.int16), 8000))
    return path
