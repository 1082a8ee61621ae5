"""Vosk streaming recognition, tested with the Korean model from PyPI on espeak-ng Korean speech.

espeak-ng's Korean voice is far from natural, so free-form text is poor (see docs/speech-evaluation.md);
these tests check the engine's mechanics (partials while audio arrives, final text, rates, grammar
mode), not the model's accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.media.speechset import telephone
from tests.media.speech import korean_speech, vosk_korean

PHRASES = ("안녕하세요", "아니요", "감사합니다", "네")


@pytest.mark.parametrize("rate", [8000, 16000])
def test_partials_arrive_while_speaking_and_the_final_text_follows(rate: int) -> None:
    samples, raw_rate = korean_speech("안녕하세요 오늘 날씨가 좋습니다")
    line = telephone(samples, raw_rate, rate)
    stream = vosk_korean().stream(rate)
    partials = [p for i in range(0, len(line), rate // 50) if (p := stream.accept(line[i : i + rate // 50]))]
    final = stream.finish()
    assert partials, "no partial result while the audio streamed"
    assert final.text and 0 < final.confidence <= 1
    assert any(c >= "\uac00" for c in final.text)  # Hangul syllables


@pytest.mark.parametrize("word", ["안녕하세요", "아니요"])
def test_grammar_mode_recognizes_expected_answers(word: str) -> None:
    samples, raw_rate = korean_speech(word)
    result = vosk_korean(PHRASES).transcribe(telephone(samples, raw_rate), 8000)
    assert result.text == word


def test_a_stream_is_reusable_and_silence_is_empty() -> None:
    stream = vosk_korean(PHRASES).stream(8000)
    samples, raw_rate = korean_speech("안녕하세요")
    stream.accept(telephone(samples, raw_rate))
    assert stream.finish().text == "안녕하세요"
    stream.accept(np.zeros(8000, dtype=np.int16))
    assert stream.finish().text == ""
