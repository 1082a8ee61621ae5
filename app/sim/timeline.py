"""Reading a call's stereo recording as a timeline: when the caller spoke, when the agent fell silent.

The stand-in records every call time-aligned (left: what the caller sent, right: what was played to the
caller), so "how long after the caller started did the agent stop" is a question about samples, not
about wall clocks. Used by the turn-taking tests and ``bench/barge_in.py``.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Recording:
    rate: int
    caller: np.ndarray
    agent: np.ndarray


def read_recording(path: Path) -> Recording:
    """A stand-in recording (16-bit stereo WAV)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 2 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: not a 16-bit stereo recording")
        rate = wav.getframerate()
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    return Recording(rate, frames[:, 0], frames[:, 1])


def silent_from(
    audio: np.ndarray, after: int, rate: int, *, hold_ms: int = 400, level: int = 64
) -> int | None:
    """The first sample from ``after`` on that starts ``hold_ms`` of silence (below ``level``), or None.

    A pause of the agent plays -1 samples, a break plays nothing: both are silence here, while the gaps
    between a speaker's words are shorter than ``hold_ms``.
    """
    hold = hold_ms * rate // 1000
    quiet = (np.abs(audio[after:].astype(np.int32)) < level).astype(np.int32)
    if hold <= 0 or len(quiet) < hold:
        return None
    runs = np.convolve(quiet, np.ones(hold, dtype=np.int32), mode="valid")
    full = np.flatnonzero(runs == hold)
    return after + int(full[0]) if full.size else None


def first_sound(audio: np.ndarray, level: int = 500) -> int | None:
    """The first sample louder than ``level``, or None."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > level)
    return int(loud[0]) if loud.size else None
