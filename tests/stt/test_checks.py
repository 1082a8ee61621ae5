"""The runaway checks on a decode's text, and the stt_rejected message they lead to."""

from __future__ import annotations

import pytest

from app.media import messages
from app.stt.checks import WORDS_PER_S_LIMIT, has_words, repeats_itself, runaway_reason, token_cap

# As measured on the default path: 2.6 s of noisy speech, 224 words, confidence 0.96.
LOOP = "I want the last " + "last " * 223


def test_punctuation_alone_is_no_words() -> None:
    assert not has_words("")
    assert not has_words(".")
    assert not has_words(" ... ?! - ")
    assert has_words("Yes.")
    assert has_words("5")


def test_a_measured_loop_is_refused_for_each_reason() -> None:
    assert runaway_reason(LOOP, 2.6) == "loop"
    assert runaway_reason("thank you so " * 3, 10.0) == "repeated"
    assert runaway_reason("one two three four five six seven eight nine ten", 1.2) == "too_many_words"


def test_ordinary_replies_pass() -> None:
    assert runaway_reason("Yes.", 0.3) is None  # one word always fits
    assert runaway_reason("No, no, no, no.", 1.5) is None  # one word over and over is speech
    assert runaway_reason("Thank you. Thank you.", 1.5) is None  # twice is speech too
    assert runaway_reason("The number is five five five, two three four, nine eight seven six.", 4.5) is None
    assert runaway_reason("", 1.0) is None


def test_repeats_counts_runs_of_distinct_words() -> None:
    assert repeats_itself("la la la la la la", 3)
    assert not repeats_itself("la la la la la la", 3, distinct=True)
    assert repeats_itself("thank you thank you thank you", 3, distinct=True)


def test_the_token_cap_grows_with_the_audio() -> None:
    assert token_cap(0.0) == 10
    assert token_cap(2.6) < 448 // 10  # a 2.6 s loop stops after a few dozen tokens, not Whisper's 448
    assert token_cap(4.0) < token_cap(8.0) < 448
    # Fluent speech at the words-per-second limit, with punctuation (~1.3 tokens a word), still fits.
    for seconds in (1.0, 6.0, 10.0, 15.0):
        assert token_cap(seconds) >= WORDS_PER_S_LIMIT * 1.3 * seconds


def test_the_rejection_message_follows_the_schema() -> None:
    message = messages.stt_rejected(
        reason="loop", chars=len(LOOP), start_ms=800, end_ms=3400, engine="whisper"
    )
    messages.validate(message)
    assert message["chars"] == len(LOOP)
    with pytest.raises(messages.MessageError):
        messages.validate({**message, "reason": "silence"})
    with pytest.raises(messages.MessageError):
        messages.validate({k: v for k, v in message.items() if k != "chars"})
