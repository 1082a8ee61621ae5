"""The whole call path against the FreeSWITCH stand-in: real sockets, real WebSocket, real Piper, real DB."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings, load_settings
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.tts.base import Audio, write_wav
from app.wiring import Stack

SHORT_FLOW = Path(__file__).resolve().parent / "data" / "short.yaml"


@pytest.fixture(scope="session")
def caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a 440 Hz tone after half a second of silence: clearly audible, clearly the caller."""
    rate = 8000
    t = np.arange(int(2.0 * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    path = tmp_path_factory.mktemp("caller") / "caller.wav"
    write_wav(path, Audio(np.concatenate([np.zeros(rate // 2, dtype=np.int16), tone]), rate))
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings(
        {
            "CALLBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
            "CALLBRIDGE_SPOOL_DIR": str(tmp_path / "spool"),
            "CALLBRIDGE_FLOW": str(SHORT_FLOW),
            "CALLBRIDGE_GOODBYE_TEXT": "Bye.",
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "2.5",
            "CALLBRIDGE_MAX_NO_INPUT": "1",
        }
    )
    return base.model_copy(update={"controller_port": 0, "media_port": 0})


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    upgrade(settings.database_url)
    stack = Stack.build(settings)
    stack.start(advertise_bound_media=True)
    yield stack
    stack.stop()


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    (tmp_path / "recordings").mkdir()
    fs = FakeSwitch(password=secrets.token_hex(8), recordings_dir=tmp_path / "recordings")
    fs.start()
    yield fs
    fs.stop()
