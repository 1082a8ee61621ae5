"""Labelled test speech for the worker's tests and evaluation: synthetic voices through a phone line.

Speech comes from Piper (English) or espeak-ng (any of its voices, e.g. Korean), is passed through the
telephone channel (resampled to 8 kHz, G.711 mu-law encoded and decoded) and can be mixed with noise at a
chosen SNR and laid out with silence gaps. Every clip knows where its speech really is.
"""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import soxr

_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def mulaw_encode(samples: np.ndarray) -> np.ndarray:
    """G.711 mu-law bytes of int16 samples."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), _MULAW_CLIP) + _MULAW_BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    codes: np.ndarray = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return codes


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def telephone(samples: np.ndarray, rate: int, out_rate: int = 8000) -> np.ndarray:
    """Through a G.711 line: narrowband 8 kHz mu-law, then (if asked) back up to ``out_rate``."""
    narrow = resample(samples, rate, 8000)
    line = mulaw_decode(mulaw_encode(narrow))
    return resample(line, 8000, out_rate)


def resample(samples: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    if rate == out_rate:
        return samples.astype(np.int16, copy=False)
    out = np.asarray(soxr.resample(samples.astype(np.float32), rate, out_rate), dtype=np.float32)
    result: np.ndarray = np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return result


def speech_span(samples: np.ndarray, rate: int, floor_db: float = -45.0) -> tuple[int, int]:
    """First and last sample of speech (10 ms frames above ``floor_db`` of full scale)."""
    frame = rate // 100
    count = len(samples) // frame
    if count == 0:
        return 0, 0
    frames = samples[: count * frame].astype(np.float32).reshape(count, frame) / 32768.0
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > floor_db)
    if not len(loud):
        return 0, 0
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


def espeak(text: str, voice: str = "en-us", speed: int = 150) -> tuple[np.ndarray, int]:
    """Speech from the ``espeak-ng`` program (it must be installed)."""
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    with wave.open(io.BytesIO(result.stdout)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)
    return samples, rate


@dataclass(frozen=True)
class Spoken:
    """One utterance inside a clip: where its speech is (samples) and what was said."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray
    rate: int
    spoken: tuple[Spoken, ...]

    def speech_mask(self, window: int) -> np.ndarray:
        """True for each ``window``-sample frame that overlaps speech by half or more."""
        count = len(self.samples) // window
        mask = np.zeros(len(self.samples), dtype=bool)
        for s in self.spoken:
            mask[s.start : s.end] = True
        frames: np.ndarray = mask[: count * window].reshape(count, window).mean(axis=1) >= 0.5
        return frames


Synthesize = Callable[[str], tuple[np.ndarray, int]]


def build_clip(
    texts: Sequence[str],
    synthesize: Synthesize,
    *,
    rate: int = 8000,
    gap_ms: int = 1200,
    lead_ms: int = 800,
    snr_db: float | None = None,
    seed: int = 0,
) -> Clip:
    """Utterances separated by silence, through the phone line, optionally with noise at ``snr_db``."""
    pieces: list[np.ndarray] = [np.zeros(rate * lead_ms // 1000, dtype=np.int16)]
    spoken: list[Spoken] = []
    offset = len(pieces[0])
    for text in texts:
        raw, raw_rate = synthesize(text)
        line = telephone(raw, raw_rate, rate)
        first, last = speech_span(line, rate)
        speech = line[first:last]
        spoken.append(Spoken(offset, offset + len(speech), text))
        gap = np.zeros(rate * gap_ms // 1000, dtype=np.int16)
        pieces.extend([speech, gap])
        offset += len(speech) + len(gap)
    samples = np.concatenate(pieces)
    if snr_db is not None:
        samples = add_noise(samples, spoken, snr_db, np.random.default_rng(seed))
    return Clip(samples, rate, tuple(spoken))


def add_noise(
    samples: np.ndarray, spoken: Sequence[Spoken], snr_db: float, rng: np.random.Generator
) -> np.ndarray:
    """Pink-ish noise at ``snr_db`` below the speech's mean power (measured over the speech only)."""
    speech = np.concatenate([samples[s.start : s.end] for s in spoken]).astype(np.float64)
    speech_power = float(np.mean(speech**2)) if len(speech) else 1e6
    white = rng.standard_normal(len(samples))
    # A leaky integrator tilts white noise towards the low frequencies, like line and room noise.
    pink = np.empty_like(white)
    level = 0.0
    for start in range(0, len(white), 4096):
        block = white[start : start + 4096]
        out = np.empty_like(block)
        for i, value in enumerate(block):
            level = 0.95 * level + value
            out[i] = level
        pink[start : start + 4096] = out
    pink -= pink.mean()
    noise_power = float(np.mean(pink**2))
    pink *= np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    mixed = samples.astype(np.float64) + pink
    return np.clip(np.round(mixed), -32768, 32767).astype(np.int16)


def edit_distance(said: Sequence[str], heard: Sequence[str]) -> int:
    """Word-level edit distance (substitutions + insertions + deletions): the numerator of the WER."""
    row = list(range(len(heard) + 1))
    for i in range(1, len(said) + 1):
        previous, row[0] = row[0], i
        for j in range(1, len(heard) + 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (said[i - 1] != heard[j - 1])),
            )
    return row[-1]
