"""faster-whisper tiny.en (int8, beam 1) on telephone-quality Piper speech."""

from __future__ import annotations

import numpy as np

from app.media.speechset import telephone
from tests.media.speech import piper_speech, whisper, word_errors, words


def test_narrowband_speech_is_transcribed() -> None:
    samples, rate = piper_speech("Please transfer me to the billing department.")
    line = telephone(samples, rate)
    result = whisper().transcribe(line, 8000)
    # tiny.en on 8 kHz mu-law sometimes mishears one word ("place transfer me..."): allow one.
    assert word_errors("please transfer me to the billing department", result.text) <= 1
    assert 0.3 < result.confidence <= 1.0


def test_silence_and_tiny_clips_give_no_text() -> None:
    assert whisper().transcribe(np.zeros(8000, dtype=np.int16), 8000).text == ""
    assert whisper().transcribe(np.zeros(100, dtype=np.int16), 8000).text == ""


def test_the_buffered_stream_transcribes_what_it_was_fed() -> None:
    samples, rate = piper_speech("Thank you very much.")
    line = telephone(samples, rate, 16000)
    stream = whisper().stream(16000)
    for start in range(0, len(line), 320):
        assert stream.accept(line[start : start + 320]) is None
    assert words(stream.finish().text) == ["thank", "you", "very", "much"]
    assert stream.finish().text == ""  # the buffer was emptied


def test_parallel_workers_transcribe_concurrent_calls_correctly() -> None:
    """Two pool threads share one model with two workers: each gets its own utterance's words."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from app.stt.whisper import WhisperRecognizer  # noqa: PLC0415
    from tests.media.speech import piper_speech  # noqa: PLC0415

    model = WhisperRecognizer(workers=2)
    clips = [piper_speech("Please call me back tomorrow."), piper_speech("My account number is on the letter.")]
    with ThreadPoolExecutor(2) as pool:
        texts = list(pool.map(lambda clip: model.transcribe(*clip).text.lower(), clips))
    assert "tomorrow" in texts[0] and "letter" in texts[1]
