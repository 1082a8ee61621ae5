"""Checks on a decode's text: has it words at all, and is it a loop rather than what was said.

Whisper can run away on a short or noisy utterance: 1.8 s of "da da da" came back as 224 words ("dot dot
dot ..."), a noisy 2.6 s as "last last last ...", with a confidence of 0.96. Such a result compresses far
better than speech (faster-whisper's own repetition limit is 2.4) and runs at many more words a second
than anyone speaks, so those two, and a phrase said three times over, mark a runaway decode.
"""

from __future__ import annotations

import re
import zlib

# Over this a result is a loop: faster-whisper's compression_ratio_threshold.
COMPRESSION_LIMIT = 2.4
# Nothing faster reaches the brain; callers speak at 2-4 words a second (the audio includes the preroll).
WORDS_PER_S_LIMIT = 6.0
# A decode may write this many tokens per second of audio, plus a constant: a loop stops there, cheaply,
# instead of at Whisper's 448 (3-4 s of CPU). It leaves room for speech at WORDS_PER_S_LIMIT with its
# punctuation (about 1.3 tokens a word): 5 a second cut the end off fluent voicemail greetings of 6 s and
# more in the conversational evaluation, and with it the phrases AMD listens for.
TOKENS_PER_S = 8.0
TOKENS_EXTRA = 10

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def spoken_words(text: str) -> list[str]:
    """The words of ``text``, lower-case, without punctuation."""
    return _WORD.findall(text.lower())


def has_words(text: str) -> bool:
    """False for an empty or punctuation-only result ("." for a hiss): no words were heard."""
    return _WORD.search(text) is not None


def compression_ratio(text: str) -> float:
    """Text length over its zlib-compressed length (as Whisper measures repetition)."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def repeats_itself(text: str, times: int = 2, *, distinct: bool = False) -> bool:
    """True when a run of two or more words comes ``times`` times in a row ("thank you thank you").

    ``distinct`` ignores runs of one word over and over ("no no no no"), which callers do say.
    """
    spoken = spoken_words(text)
    for size in range(2, len(spoken) // times + 1):
        for start in range(len(spoken) - times * size + 1):
            run = spoken[start : start + size]
            if distinct and len(set(run)) == 1:
                continue
            if all(spoken[start + k * size : start + (k + 1) * size] == run for k in range(1, times)):
                return True
    return False


def token_cap(seconds: float) -> int:
    """The most tokens a decode of ``seconds`` of audio may write."""
    return TOKENS_EXTRA + int(TOKENS_PER_S * seconds + 0.5)


def runaway_reason(text: str, seconds: float) -> str | None:
    """Why ``text`` cannot be what was said in ``seconds`` of audio, or None when it can.

    ``loop`` (compresses like one), ``repeated`` (a phrase three times in a row) or ``too_many_words``
    (over :data:`WORDS_PER_S_LIMIT` words a second).
    """
    if compression_ratio(text) > COMPRESSION_LIMIT:
        return "loop"
    if repeats_itself(text, 3, distinct=True):
        return "repeated"
    if len(spoken_words(text)) > max(1.0, WORDS_PER_S_LIMIT * seconds):  # one word always fits
        return "too_many_words"
    return None
