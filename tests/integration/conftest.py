"""The whole call path against the FreeSWITCH stand-in: real sockets, real WebSocket, real Piper, real DB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.tts.base import Audio, write_wav
from tests.stack import stack_settings

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
    return stack_settings(tmp_path, SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="2.5", max_no_input="1")
