"""The model's front end: Whisper-style log-mel features of the last 8 s of 16 kHz audio, in numpy.

Smart Turn v3 was trained on the output of a Whisper feature extractor set to an 8 s chunk with waveform
normalisation on: the audio is fitted to exactly 8 s (older samples dropped, silence added *before*
shorter audio so the end of speech sits at the end of the window), scaled to zero mean and unit
variance, then turned into an 80-band log-mel spectrogram (400-point periodic Hann STFT, hop 160,
Slaney mel scale and area normalisation over 0-8 kHz, log10 floored at 1e-10, clamped to 8 decades
below the peak, mapped by (x + 4) / 4), 800 frames (the STFT's last frame is dropped).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SECONDS = 8
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = WINDOW_SAMPLES // HOP
_NORMALISE_EPS = 1e-7
_POWER_FLOOR = 1e-10


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz * 3.0 / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * 27.0 / np.log(6.4)
    result: np.ndarray = np.where(hz < 1000.0, linear, logarithmic)
    return result


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * 200.0 / 3.0
    logarithmic = 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0)
    result: np.ndarray = np.where(mel < 15.0, linear, logarithmic)
    return result


def mel_filterbank(rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters, shape ``(n_mels, n_fft // 2 + 1)``, each scaled to unit area (Slaney)."""
    bins = np.arange(n_fft // 2 + 1) * rate / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(rate / 2)), n_mels + 2))
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - low) / (centre - low)
    falling = (high - bins[None, :]) / (high - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    filters: np.ndarray = triangles * (2.0 / (high - low))
    return filters


_FILTERS = mel_filterbank()
_HANN = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic, as torch.hann_window


def fit_window(audio_16k: np.ndarray) -> np.ndarray:
    """Exactly 8 s: the last 8 s of longer audio, shorter audio preceded by silence (float32)."""
    audio = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
    if len(audio) >= WINDOW_SAMPLES:
        return audio[len(audio) - WINDOW_SAMPLES :].copy()
    return np.concatenate([np.zeros(WINDOW_SAMPLES - len(audio), dtype=np.float32), audio])


def normalise(audio: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (float32, as the training pipeline did it)."""
    audio = audio.astype(np.float32, copy=False)
    scaled: np.ndarray = ((audio - audio.mean()) / np.sqrt(audio.var() + _NORMALISE_EPS)).astype(np.float32)
    return scaled


def log_mel_spectrogram(audio: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram of 16 kHz audio as given: shape ``(80, len(audio) // 160)``."""
    half = N_FFT // 2
    padded = np.pad(audio.astype(np.float64), (half, half), mode="reflect")
    count = 1 + (len(padded) - N_FFT) // HOP
    starts = np.arange(count - 1) * HOP  # the STFT's last frame is not used
    frames = padded[starts[:, None] + np.arange(N_FFT)[None, :]] * _HANN
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = np.log10(np.maximum(_FILTERS @ power.T, _POWER_FLOOR))
    mel = np.maximum(mel, mel.max() - 8.0)
    scaled: np.ndarray = ((mel + 4.0) / 4.0).astype(np.float32)
    return scaled


def log_mel(audio_16k: np.ndarray) -> np.ndarray:
    """The model's input for one utterance: float32 mono 16 kHz in, ``(80, 800)`` float32 out."""
    return log_mel_spectrogram(normalise(fit_window(audio_16k)))
