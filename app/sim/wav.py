"""WAV files for the media stand-in: read any PCM WAV as mono at a given rate, write L16 WAVs."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

Int16Array = npt.NDArray[np.int16]

_PCM_DTYPES: dict[int, str] = {1: "u1", 2: "<i2", 4: "<i4"}


def read_wav(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    """Read a PCM WAV (8/16/24/32-bit integer) as float32 samples in [-1, 1], shape (frames, channels)."""
    with wave.open(str(path), "rb") as wav:
        channels = wav.getnchannels()
        width = wav.getsampwidth()
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 3:
        triplets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)) << 8
        samples: npt.NDArray[np.float32] = (ints / 2.0**31).astype(np.float32)
    elif width in _PCM_DTYPES:
        data = np.frombuffer(raw, dtype=_PCM_DTYPES[width])
        if width == 1:
            samples = ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
        else:
            samples = (data / float(2 ** (8 * width - 1))).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported sample width {width}")
    return samples.reshape(-1, channels), rate


def to_int16(samples: npt.NDArray[np.floating]) -> Int16Array:
    """Convert float samples in [-1, 1] to saturated int16."""
    scaled = np.round(np.asarray(samples, dtype=np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def load_mono(path: Path, rate: int) -> Int16Array:
    """Read a WAV, mix its channels down to mono and resample it to ``rate`` (soxr, high quality)."""
    samples, source_rate = read_wav(path)
    mono = samples.mean(axis=1, dtype=np.float32)
    if source_rate != rate and mono.size:
        mono = soxr.resample(mono, source_rate, rate)
    return to_int16(mono)


def write_wav(path: Path, samples: Int16Array, rate: int) -> None:
    """Write int16 samples, shape (frames,) for mono or (frames, channels), as a 16-bit PCM WAV."""
    frames = samples.reshape(samples.shape[0], -1)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(frames.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.ascontiguousarray(frames, dtype="<i2").tobytes())
