"""One-word answers as a G.711 line delivers them: spoken fast, the end of the word eaten, quiet.

The clips in data/ are Piper's joe at length_scale 0.6 through mu-law, cut to 55-75 % of the word (the
line and a quick speaker lose the fricative of "yes") at -6 dB: each one has under 250 ms that Silero
scores as speech, which the old rule (min_speech_ms alone) dropped as a cough.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from app.config import load_settings
from app.domain import CallType
from app.media.segmenter import Segmenter, SegmenterProfile, UtteranceEnded
from app.media.speech_setup import profiles_from
from app.vad.silero import VadState, shared_model, to_float, window_samples
from tests.media.speech import whisper

DATA = Path(__file__).resolve().parent / "data"
RATE = 8000
WORDS = ("yes", "no", "okay", "yeah")


def _clip(word: str) -> np.ndarray:
    with wave.open(str(DATA / f"short-{word}-clipped.wav"), "rb") as clip:
        assert clip.getframerate() == RATE
        return np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2").astype(np.int16)


def _utterances(samples: np.ndarray, profile: SegmenterProfile) -> list[UtteranceEnded]:
    """The real Silero model and the segmenter, window by window, with a second of line silence around."""
    model, state, size = shared_model(), VadState(RATE), window_samples(RATE)
    segmenter = Segmenter(profile, RATE)
    audio = np.concatenate([np.zeros(RATE, np.int16), samples, np.zeros(2 * RATE, np.int16)])
    ended = []
    for start in range(0, len(audio) - size + 1, size):
        window = audio[start : start + size]
        probability = float(model.infer([state], to_float(window)[None, :])[0])
        ended += [e for e in segmenter.push(window, probability) if isinstance(e, UtteranceEnded)]
    return ended


@pytest.mark.parametrize("word", WORDS)
def test_a_clipped_one_word_answer_is_an_utterance(word: str) -> None:
    profile = profiles_from(load_settings())[CallType.SIP]
    (utterance,) = _utterances(_clip(word), profile)
    assert utterance.end_ms - utterance.start_ms < profile.min_speech_ms + 100


def test_a_clipped_yes_over_mu_law_is_heard_as_yes() -> None:
    (utterance,) = _utterances(_clip("yes"), profiles_from(load_settings())[CallType.SIP])
    text = whisper().transcribe(utterance.audio, RATE).text
    assert text.strip(" .!?,").lower() in {"yes", "yeah", "yep"}, text
