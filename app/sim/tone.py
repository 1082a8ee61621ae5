"""A steady-tone detector for the stand-in's mod_avmd: a voicemail beep in the caller's audio.

Each 20 ms frame is analysed on its own (Hann window, zero-padded FFT): a frame is *tonal* when its
strongest peak lies between ``min_hz`` and ``max_hz`` (mod_avmd's 440-2000 Hz) and the peak's main lobe
holds at least ``purity`` of the frame's energy above 100 Hz. Speech never passes that for long: its
energy is spread over several harmonics and its pitch moves. A *tone* is a run of tonal frames at the
same frequency (within ``drift``) and a steady level, lasting ``min_ms``; one frame lost on the line
(zeroed by the jitter buffer) inside the run is forgiven. Each tone is reported once, when it has lasted
``min_ms``; the detector then waits for the tone to end before it can report another.

Pure and clock-free: frames in, :class:`Tone` out; the media bug in :mod:`app.sim.avmd` drives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.sim.wav import Int16Array

__all__ = ["Tone", "ToneDetector", "ToneSettings"]

LOW_CUT_HZ = 100.0  # hum and DC below this are not counted in a frame's energy


@dataclass(frozen=True)
class ToneSettings:
    """What counts as a beep."""

    min_hz: float = 440.0  # AVMD_MIN_FREQUENCY
    max_hz: float = 2000.0  # AVMD_MAX_FREQUENCY
    min_ms: int = 100
    min_amplitude: float = 17.0  # AVMD_MIN_AMP, in sample units (of 32768)
    purity: float = 0.8
    drift: float = 0.02  # the run's frequencies stay within 2 % (at least 10 Hz) of its first
    level_spread: float = 0.25  # the run's amplitudes stay within 25 % of their median
    gap_frames: int = 1  # non-tonal frames forgiven inside a run


@dataclass(frozen=True)
class Tone:
    """A steady tone, as mod_avmd's beep event describes it."""

    frequency: float
    """Hz (the median of the run's frames)."""
    frequency_variance: float
    """Variance of the normalised frequency (rad/sample, squared), the unit mod_avmd reports."""
    amplitude: float
    """Peak amplitude in sample units."""
    amplitude_variance: float
    start_sample: int
    """Where the tone's first tonal frame began (samples since the detector's first frame)."""
    detected_sample: int
    """The end of the frame that confirmed it."""


@dataclass(frozen=True)
class _Frame:
    frequency: float
    amplitude: float


@dataclass
class _Run:
    start_sample: int
    frames: list[_Frame] = field(default_factory=list)
    gap: int = 0
    reported: bool = False


class ToneDetector:
    """Feed it consecutive frames at ``rate``; it returns a :class:`Tone` once per steady tone."""

    def __init__(self, rate: int, settings: ToneSettings | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.settings = settings or ToneSettings()
        self.samples_seen = 0
        self._run: _Run | None = None
        self._window: dict[int, np.ndarray] = {}

    def feed(self, frame: Int16Array) -> Tone | None:
        """One frame of audio (any length, 20 ms usually); the tone, the first time it is confirmed."""
        start = self.samples_seen
        self.samples_seen += int(frame.shape[0])
        analysed = self._analyse(frame)
        run = self._run
        if analysed is None:
            if run is not None:
                run.gap += 1
                if run.gap > self.settings.gap_frames:
                    self._run = None
            return None
        if run is None or not self._continues(run, analysed):
            self._run = run = _Run(start_sample=start)
        run.gap = 0
        run.frames.append(analysed)
        if run.reported:
            return None
        lasted_ms = 1000.0 * (self.samples_seen - run.start_sample) / self.rate
        if lasted_ms + 1e-6 < self.settings.min_ms:
            return None
        run.reported = True
        return self._tone(run)

    def _analyse(self, frame: Int16Array) -> _Frame | None:
        """The frame's peak frequency and amplitude if it is tonal, else None."""
        count = int(frame.shape[0])
        if count < 16:
            return None
        samples = frame.astype(np.float64)
        samples -= samples.mean()
        if not np.any(samples):
            return None
        window = self._window.get(count)
        if window is None:
            window = self._window[count] = np.hanning(count)
        size = 8 * (1 << (count - 1).bit_length())
        power = np.abs(np.fft.rfft(samples * window, size)) ** 2
        hz_per_bin = self.rate / size
        freqs = np.arange(power.shape[0]) * hz_per_bin
        settings = self.settings
        in_range = np.flatnonzero((freqs >= settings.min_hz) & (freqs <= settings.max_hz))
        if in_range.size == 0:
            return None
        peak = int(in_range[np.argmax(power[in_range])])
        lobe = 2.0 * self.rate / count  # the Hann main lobe's half width
        band = power[freqs >= LOW_CUT_HZ].sum()
        near = power[(freqs >= freqs[peak] - lobe) & (freqs <= freqs[peak] + lobe)].sum()
        if band <= 0.0 or near < settings.purity * band:
            return None
        energy = float(np.mean(samples**2)) * near / band
        amplitude = float(np.sqrt(2.0 * energy))
        if amplitude < settings.min_amplitude:
            return None
        return _Frame(_interpolate(power, peak) * hz_per_bin, amplitude)

    def _continues(self, run: _Run, frame: _Frame) -> bool:
        """Same frequency as the run's first frame, and the level of the run so far.

        The first frame may have caught the tone's onset (a partial frame): its level is not compared.
        """
        first = run.frames[0].frequency
        if abs(frame.frequency - first) > max(10.0, self.settings.drift * first):
            return False
        if len(run.frames) < 2:
            return True
        level = float(np.median([f.amplitude for f in run.frames[1:]]))
        return abs(frame.amplitude - level) <= self.settings.level_spread * level

    def _tone(self, run: _Run) -> Tone:
        freqs = np.array([f.frequency for f in run.frames])
        levels = np.array([f.amplitude for f in run.frames])
        omega = 2.0 * np.pi * freqs / self.rate
        return Tone(
            frequency=float(np.median(freqs)),
            frequency_variance=float(np.var(omega)),
            amplitude=float(np.median(levels)),
            amplitude_variance=float(np.var(levels)),
            start_sample=run.start_sample,
            detected_sample=self.samples_seen,
        )


def _interpolate(power: np.ndarray, peak: int) -> float:
    """The peak's position in bins, refined by a parabola through the log power of its neighbours."""
    if peak <= 0 or peak >= power.shape[0] - 1:
        return float(peak)
    left, centre, right = (float(np.log(max(power[i], 1e-300))) for i in (peak - 1, peak, peak + 1))
    curve = left - 2.0 * centre + right
    if curve >= 0.0:
        return float(peak)
    return peak + 0.5 * (left - right) / curve
