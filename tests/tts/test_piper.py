"""Piper: full-range 16-bit speech, and only the phonemizer (espeak-ng) held under the engine's lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from tests.media.speech import piper


def test_speech_is_full_range_int16_at_the_voice_rate() -> None:
    voice = piper()
    one = voice.synthesize("Which day works best for you?")
    two = voice.synthesize("Which day works best for you? Tuesday is free.")
    assert one.samples.dtype == np.int16 and one.rate == voice.rate
    assert int(np.max(np.abs(one.samples.astype(np.int32)))) == 32767  # each sentence scaled to full range
    assert 0.8 < one.duration_ms / 1000 < 4.0
    assert two.duration_ms > one.duration_ms + 300  # both sentences, one after the other


def test_nothing_to_say_gives_no_samples() -> None:
    assert len(piper().synthesize("   ").samples) == 0


def test_only_the_phonemizer_runs_under_the_lock(monkeypatch: Any) -> None:
    """The ONNX run stays outside the lock, so a later piece never holds up a reply's first piece."""
    voice = piper()
    inner = voice._voice
    held: dict[str, list[bool]] = {"phonemize": [], "onnx": []}
    phonemize, to_audio = inner.phonemize, inner.phoneme_ids_to_audio

    def watched_phonemize(text: str) -> Any:
        held["phonemize"].append(voice._lock.locked())
        return phonemize(text)

    def watched_to_audio(ids: list[int], config: Any) -> Any:
        held["onnx"].append(voice._lock.locked())
        return to_audio(ids, config)

    monkeypatch.setattr(inner, "phonemize", watched_phonemize)
    monkeypatch.setattr(inner, "phoneme_ids_to_audio", watched_to_audio)
    voice.synthesize("Sure. Which day works best for you?")
    assert held["phonemize"] == [True]
    assert held["onnx"] == [False, False]


def test_syntheses_from_several_threads_at_once_all_give_speech() -> None:
    voice = piper()
    texts = ["Sure, Maria.", "Which day works best for you?", "Thank you, goodbye.", "One moment please."]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(voice.synthesize, texts * 2))
    for audio in results:
        assert audio.duration_ms > 500
        assert int(np.max(np.abs(audio.samples.astype(np.int32)))) == 32767
