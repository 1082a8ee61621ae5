"""Streaming resampler for 20 ms frames: exactly ``out_rate / 50`` samples out for every frame in.

soxr's high-quality stream mode emits output in ~100 ms bursts, which a real-time 20 ms media
path cannot use; its quick mode (cubic interpolation) emits steadily with a few samples of delay.
To keep cubic interpolation from aliasing when downsampling, a short windowed-sinc low-pass runs
first. The few samples of start-up delay are filled with leading silence, the way speex (which
FreeSWITCH uses here) starts its output with silence.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

Int16Array = npt.NDArray[np.int16]

_LOWPASS_TAPS = 63


def _lowpass_taps(cutoff_ratio: float) -> npt.NDArray[np.float64]:
    """Windowed-sinc FIR with cutoff ``cutoff_ratio`` of the input rate (0 < ratio < 0.5)."""
    n = np.arange(_LOWPASS_TAPS) - (_LOWPASS_TAPS - 1) / 2
    taps = 2 * cutoff_ratio * np.sinc(2 * cutoff_ratio * n) * np.hamming(_LOWPASS_TAPS)
    normalised: npt.NDArray[np.float64] = taps / taps.sum()
    return normalised


class StreamResampler:
    """Resample interleaved int16 frames of ``channels`` channels from ``in_rate`` to ``out_rate``."""

    def __init__(self, in_rate: int, out_rate: int, channels: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.channels = channels
        self._stream = soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality="QQ")
        self._taps = _lowpass_taps(0.45 * out_rate / in_rate) if out_rate < in_rate else None
        self._history = np.zeros((_LOWPASS_TAPS - 1, channels), dtype=np.float64)
        self._pending = np.zeros((0, channels), dtype=np.float32)

    def process(self, frame: Int16Array) -> Int16Array:
        """Resample one frame (shape (n,) or (n, channels)); returns ``n * out_rate / in_rate`` frames."""
        samples = frame.reshape(-1, self.channels).astype(np.float64)
        wanted = samples.shape[0] * self.out_rate // self.in_rate
        if self._taps is not None:
            samples = self._filter(samples)
        out = self._stream.resample_chunk(samples.astype(np.float32))
        self._pending = np.concatenate([self._pending, out.reshape(-1, self.channels)])
        if self._pending.shape[0] < wanted:
            # Only at start-up (soxr's delay): a steady stream never runs short.
            missing = wanted - self._pending.shape[0]
            self._pending = np.concatenate([np.zeros((missing, self.channels), np.float32), self._pending])
        result, self._pending = self._pending[:wanted], self._pending[wanted:]
        clipped = np.clip(np.round(result), -32768, 32767).astype(np.int16)
        return clipped.reshape(-1) if frame.ndim == 1 else clipped

    def _filter(self, samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        assert self._taps is not None
        padded = np.concatenate([self._history, samples])
        self._history = padded[-(_LOWPASS_TAPS - 1) :]
        return np.stack(
            [np.convolve(padded[:, ch], self._taps, mode="valid") for ch in range(self.channels)], axis=1
        )
