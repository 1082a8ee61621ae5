"""The recording timeline helpers used to measure barge-in on the stand-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.sim.timeline import first_sound, read_recording, silent_from
from app.sim.wav import write_wav

RATE = 8000


def test_silence_is_found_after_a_point_and_short_gaps_do_not_count() -> None:
    talk = np.full(RATE, 3000, np.int16)
    gap = np.zeros(RATE // 10, np.int16)  # 100 ms between words
    audio = np.concatenate([talk, gap, talk, np.full(RATE, -1, np.int16), talk])
    assert silent_from(audio, 0, RATE) == 2 * RATE + RATE // 10
    assert silent_from(audio, 0, RATE, hold_ms=50) == RATE
    assert silent_from(audio[: 2 * RATE], 0, RATE) is None
    assert first_sound(audio) == 0 and first_sound(np.zeros(10, np.int16)) is None


def test_a_stereo_recording_splits_into_caller_and_agent(tmp_path: Path) -> None:
    frames = np.stack([np.arange(100, dtype=np.int16), -np.arange(100, dtype=np.int16)], axis=1)
    write_wav(tmp_path / "r.wav", frames, RATE)
    recording = read_recording(tmp_path / "r.wav")
    assert recording.rate == RATE and recording.caller[5] == 5 and recording.agent[5] == -5
    write_wav(tmp_path / "mono.wav", np.zeros(10, np.int16), RATE)
    with pytest.raises(ValueError, match="stereo"):
        read_recording(tmp_path / "mono.wav")
