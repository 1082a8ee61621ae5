"""Our log-mel front end against faster-whisper's Whisper feature extractor, and the 8 s window."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

from app.turn.features import (
    FRAMES,
    N_MELS,
    WINDOW_SAMPLES,
    fit_window,
    log_mel,
    log_mel_spectrogram,
    mel_filterbank,
    normalise,
)
from tests.turn.speech import spoken


@pytest.fixture(scope="module")
def reference() -> FeatureExtractor:
    return FeatureExtractor(feature_size=N_MELS, chunk_length=8)


def test_the_mel_filterbank_is_whispers(reference: FeatureExtractor) -> None:
    ours = mel_filterbank()
    assert ours.shape == reference.mel_filters.shape == (80, 201)
    np.testing.assert_allclose(ours, reference.mel_filters, atol=1e-7)


@pytest.mark.parametrize("seconds", [0.7, 3.0, 8.0])
def test_the_spectrogram_matches_faster_whisper_on_speech(
    reference: FeatureExtractor, seconds: float
) -> None:
    speech = spoken("Can you tell me when the store closes today?", 16000).astype(np.float32) / 32768.0
    window = normalise(fit_window(speech[: int(seconds * 16000)]))
    ours = log_mel_spectrogram(window)
    theirs = reference(window, padding=0)
    assert ours.shape == theirs.shape == (N_MELS, FRAMES)
    np.testing.assert_allclose(ours, theirs, atol=2e-4)


def test_log_mel_is_the_models_input_shape_and_range() -> None:
    rng = np.random.default_rng(3)
    features = log_mel((rng.standard_normal(20000) * 0.1).astype(np.float32))
    assert features.shape == (N_MELS, FRAMES) and features.dtype == np.float32
    assert features.max() <= 1.6 and features.min() >= features.max() - 2.0 - 1e-6


def test_short_audio_is_preceded_by_silence_and_long_audio_keeps_its_end() -> None:
    short = np.ones(1000, dtype=np.float32)
    fitted = fit_window(short)
    assert len(fitted) == WINDOW_SAMPLES and fitted[-1000:].all() and not fitted[:-1000].any()
    long = np.arange(WINDOW_SAMPLES + 500, dtype=np.float32)
    np.testing.assert_array_equal(fit_window(long), long[500:])


def test_normalisation_makes_loudness_irrelevant() -> None:
    speech = spoken("Please cancel my appointment on Friday.", 16000).astype(np.float32) / 32768.0
    np.testing.assert_allclose(log_mel(speech), log_mel(speech * 0.1), atol=1e-3)  # 0.5 without it
