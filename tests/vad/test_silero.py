"""Silero VAD on onnxruntime: native 8 kHz, per-call state, batching that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from app.media.speechset import resample
from app.vad.batcher import infer_rounds
from app.vad.silero import SileroModel, VadState, shared_model, to_float, window_samples
from tests.media.speech import english_clip


@pytest.fixture(scope="module")
def model() -> SileroModel:
    return shared_model()


def windows_of(samples: np.ndarray, rate: int) -> list[np.ndarray]:
    size = window_samples(rate)
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


def sequential(model: SileroModel, samples: np.ndarray, rate: int) -> np.ndarray:
    state = VadState(rate)
    return np.array([model.infer([state], to_float(w)[None, :])[0] for w in windows_of(samples, rate)])


def test_the_model_is_loaded_once_per_process() -> None:
    assert shared_model() is shared_model()


@pytest.mark.parametrize("rate", [8000, 16000])
def test_speech_is_found_where_it_is_at_the_native_rate(model: SileroModel, rate: int) -> None:
    clip = english_clip(("Good morning, I am calling about my order.",), rate=rate)
    probabilities = sequential(model, clip.samples, rate)
    truth = clip.speech_mask(window_samples(rate))[: len(probabilities)]
    accuracy = np.mean((probabilities >= 0.5) == truth)
    assert accuracy > 0.85
    assert probabilities[truth].mean() > 0.7 and probabilities[~truth].mean() < 0.3


def test_batched_inference_matches_one_call_at_a_time(model: SileroModel) -> None:
    clip = english_clip(("Yes please.", "Tell me more."), rate=8000)
    calls = [clip.samples, clip.samples[4000:], np.zeros(20000, dtype=np.int16)]
    expected = [sequential(model, samples, 8000) for samples in calls]
    wide = resample(clip.samples, 8000, 16000)
    expected.append(sequential(model, wide, 16000))
    rates = [8000, 8000, 8000, 16000]
    states = [VadState(r) for r in rates]
    windows = [windows_of(s, r) for s, r in zip([*calls, wide], rates, strict=True)]
    got = infer_rounds(model, states, windows, max_batch=2)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=1e-4)


def test_state_is_per_call(model: SileroModel) -> None:
    clip = english_clip(("Yes please.",), rate=8000)
    speech = VadState(8000)
    silent = VadState(8000)
    for window in windows_of(clip.samples, 8000)[:40]:
        model.infer([speech], to_float(window)[None, :])
    assert not np.allclose(speech.state, 0)
    assert np.allclose(silent.state, 0)
    speech.reset()
    assert np.allclose(speech.state, 0) and np.allclose(speech.context, 0)


def test_wrong_rates_and_shapes_are_refused(model: SileroModel) -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        VadState(44100)
    with pytest.raises(ValueError, match="shape"):
        model.infer([VadState(8000)], np.zeros((1, 512), dtype=np.float32))
    with pytest.raises(ValueError, match="single rate"):
        model.infer([VadState(8000), VadState(16000)], np.zeros((2, 256), dtype=np.float32))
