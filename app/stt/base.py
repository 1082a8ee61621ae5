"""The speech-to-text interface the media worker uses, whatever the engine.

An engine (:class:`SpeechRecognizer`) holds the model and is shared by every call; it is thread-safe.
Engines that decode as audio arrives (``streaming = True``) give each call a cheap
:class:`RecognizerStream` that takes audio and returns partial text; the others transcribe a whole
utterance at once with :meth:`SpeechRecognizer.transcribe`. Both are blocking CPU work: the worker calls
them from a thread pool, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Transcript:
    """What was said, and how sure the engine is (0..1).

    ``rejected`` says why the engine withheld a decode's text (e.g. ``loop``: see app/stt/checks.py), and
    ``rejected_chars`` how long that text was; ``text`` is then empty.
    """

    text: str
    confidence: float
    rejected: str | None = None
    rejected_chars: int = 0


class RecognizerStream(Protocol):
    """One call's incremental recognizer; one utterance at a time, reusable after :meth:`finish`."""

    def accept(self, samples: np.ndarray) -> str | None:
        """Feed int16 samples; returns the partial text when it changed, else None."""
        ...

    def finish(self) -> Transcript:
        """End the utterance and return its final text; the stream is ready for the next one."""
        ...


class SpeechRecognizer(Protocol):
    """A loaded STT engine, shared by all calls."""

    name: str
    streaming: bool

    def transcribe(self, samples: np.ndarray, rate: int) -> Transcript:
        """The text of one whole utterance (int16 samples at ``rate``)."""
        ...

    def stream(self, rate: int) -> RecognizerStream:
        """A per-call incremental recognizer at the call's rate."""
        ...


class BufferedStream:
    """A :class:`RecognizerStream` for engines that only transcribe whole utterances: buffers, then asks."""

    def __init__(self, engine: SpeechRecognizer, rate: int) -> None:
        self.engine = engine
        self.rate = rate
        self._chunks: list[np.ndarray] = []

    def accept(self, samples: np.ndarray) -> str | None:
        self._chunks.append(samples)
        return None

    def finish(self) -> Transcript:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        self._chunks = []
        return self.engine.transcribe(audio, self.rate)
