"""The media worker's per-call listener: audio -> shared VAD -> segmenter -> STT -> result messages.

:class:`SpeechWorker` is the ``ListenerFactory`` that ``MediaServer`` calls for each new stream; it owns
what calls share (the VAD batcher, the STT engine, the thread pool for STT). :class:`SpeechListener` is
one call: its segmenter state, its recognizer stream, and one greenlet that runs its STT jobs in order
in the thread pool, so a slow transcription never holds up the event loop or another call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent
import gevent.queue
import gevent.threadpool
import numpy as np
import soxr

from app import metrics
from app.domain import CallType
from app.media import messages
from app.media.echo import DEFAULT_ECHO, EchoConfig, EchoGate
from app.media.end_of_turn import EndOfTurn, TurnPredictor, turn_summary
from app.media.meter import StreamMeter, StreamReports
from app.media.segmenter import (
    Segmenter,
    SegmenterEvent,
    SegmenterProfile,
    SpeechCancelled,
    SpeechOnset,
    SpeechPaused,
    SpeechStarted,
    UtteranceEnded,
)
from app.media.server import Send
from app.media.turn_end import TurnEndConfig
from app.media.wire import StreamMetadata
from app.stt.base import RecognizerStream, SpeechRecognizer, Transcript
from app.vad.batcher import VadBatcher, WindowResults

log = logging.getLogger(__name__)
VAD_RATES = (8000, 16000)


@dataclass(frozen=True)
class _Feed:
    samples: np.ndarray
    start_ms: float


@dataclass(frozen=True)
class _Speculate:
    event: SpeechPaused


@dataclass(frozen=True)
class _Finish:
    event: UtteranceEnded
    decided_at: float
    turn: dict[str, object] | None = None  # the end-of-turn decision that ended it, if one did


_Job = _Feed | _Speculate | _Finish


class SpeechListener:
    """One call's speech pipeline (a ``CallListener``)."""

    def __init__(
        self,
        metadata: StreamMetadata,
        send: Send,
        *,
        vad: VadBatcher,
        recognizer: SpeechRecognizer,
        profile: SegmenterProfile,
        stt_pool: gevent.threadpool.ThreadPool,
        meter: StreamMeter | None = None,
        echo: EchoConfig | None = None,
        turn_end: TurnEndConfig | None = None,
        turn_model: TurnPredictor | None = None,
    ) -> None:
        self.call_id = metadata.uuid
        self.send = send
        self.recognizer = recognizer
        self.meter = meter
        self.stt_pool = stt_pool
        self.rate = metadata.rate if metadata.rate in VAD_RATES else 16000
        self._resampler = (
            None if metadata.rate == self.rate else soxr.ResampleStream(metadata.rate, self.rate, 1, "int16")
        )
        self.segmenter = Segmenter(profile, self.rate)
        self.echo = EchoGate(self.rate, echo) if echo is not None else None
        self._received = 0  # samples at self.rate that have arrived (where control messages fall)
        self._windowed = 0  # samples at self.rate that have gone through the segmenter
        self._onset_open = False  # a speech_onset was sent and neither confirmed nor cancelled yet
        self.vad = vad.open(self.rate, self._on_windows, f"call {self.call_id}")
        self._stream: RecognizerStream | None = recognizer.stream(self.rate) if recognizer.streaming else None
        self._speculation: tuple[float, Transcript] | None = None
        self._partial: str | None = None  # the streaming engine's latest partial of this utterance
        self.end_of_turn = (
            None
            if turn_end is None
            else EndOfTurn(self.segmenter, turn_end, turn_model, self._handle_all, str(self.call_id))
        )
        self._jobs: gevent.queue.Queue[_Job | None] = gevent.queue.Queue()
        self._stt_loop = gevent.spawn(self._run_stt)
        self.utterances = 0
        metrics.worker_stream(+1)

    # -- CallListener ----------------------------------------------------------------------------

    def on_audio(self, samples: np.ndarray) -> None:
        if self.meter is not None:
            self.meter.on_audio(samples)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        self._received += len(samples)
        self.vad.feed(samples)

    def on_control(self, message: dict[str, object]) -> None:
        if self.meter is not None:
            self.meter.on_control(message)
        kind = message.get("type")
        if kind == "playback":
            on = bool(message.get("on"))
            if on != self.segmenter.playback:
                log.debug("call %s: echo guard %s", self.call_id, "on" if on else "off")
            self.segmenter.set_playback(on)
        if self.echo is not None:
            self._tell_echo_gate(message)

    def _tell_echo_gate(self, message: dict[str, object]) -> None:
        """Place what the agent plays on the audio timeline (see docs/worker-messages.md)."""
        assert self.echo is not None
        kind, piece, at = message.get("type"), str(message.get("id", "")), self._received
        levels = message.get("levels")
        if kind == "playback" and message.get("on") and isinstance(levels, list):
            self.echo.queue(piece, [float(v) for v in levels if isinstance(v, int | float)], at)
        elif kind == "playback" and not message.get("on"):
            self.echo.stopped(at)
        elif kind == "playback_started":
            elapsed = message.get("elapsed_ms")
            if isinstance(elapsed, int | float) and elapsed > 0:
                at -= int(elapsed * self.rate / 1000)  # it began before the stream did
            self.echo.started(piece, at)
        elif kind == "playback_paused":
            self.echo.paused(at)
        elif kind == "playback_resumed":
            self.echo.resumed(at)

    def on_end(self, reason: str) -> None:
        self.vad.close()
        self._resampler = None
        self._jobs.put(None)
        metrics.worker_stream(-1)
        if self.meter is not None:
            self.meter.on_end(reason)
        log.info("call %s: speech pipeline ended (%s), %d utterances", self.call_id, reason, self.utterances)

    # -- VAD results (event loop) ----------------------------------------------------------------

    def _on_windows(self, results: WindowResults) -> None:
        for window, probability in results:
            was_speaking = self.segmenter.speaking
            echo = self.echo is not None and self.echo.is_echo(
                self._windowed, window, speaking=self.segmenter.speech_start_ms is not None
            )
            self._windowed += len(window)
            events = self.segmenter.push(window, probability, echo=echo)
            if was_speaking and self._stream is not None and self.segmenter.speaking:
                self._jobs.put(_Feed(window, self.segmenter.speech_start_ms or 0.0))
            self._handle_all(events)

    def _handle_all(self, events: list[SegmenterEvent]) -> None:
        for event in events:
            self._handle(event)

    def _handle(self, event: SegmenterEvent) -> None:
        if isinstance(event, SpeechOnset):
            # Only a gate that knows what plays can tell an onset from the agent's echo.
            if self.echo is not None and self.echo.active:
                log.info(
                    "call %s: speech onset at %.0f ms over the agent (%.1f dB; echo bound %s, gain %.1f dB,"
                    " delay %s ms)",
                    self.call_id,
                    event.start_ms,
                    self.echo.last_level,
                    "none" if self.echo.last_bound is None else f"{self.echo.last_bound:.1f} dB",
                    self.echo.gain_db,
                    self.echo.delay_ms,
                )
                self._onset_open = True
                self.send(messages.speech_onset(event.start_ms))
        elif isinstance(event, SpeechCancelled):
            if self._onset_open:
                self._onset_open = False
                self.send(messages.speech_cancelled(event.start_ms))
        elif isinstance(event, SpeechStarted):
            self._onset_open = False
            log.info("call %s: speech started at %.0f ms", self.call_id, event.start_ms)
            self.send(messages.speech_started(event.start_ms))
            if self._stream is not None:
                self._jobs.put(_Feed(self.segmenter.current_audio(), event.start_ms))
        elif isinstance(event, SpeechPaused):
            if self._stream is None:
                self._jobs.put(_Speculate(event))
            if self.end_of_turn is not None:
                self.end_of_turn.paused(event, partial=self._partial, streaming=self._stream is not None)
        else:
            self._partial = None
            decision = None if self.end_of_turn is None else self.end_of_turn.decision_for(event.end_ms)
            log.info(
                "call %s: speech stopped (%s) %.0f-%.0f ms, decided at %.0f ms",
                self.call_id,
                event.reason,
                event.start_ms,
                event.end_ms,
                event.decided_ms,
            )
            turn = turn_summary(decision)
            self.send(
                messages.speech_stopped(event.start_ms, event.end_ms, event.decided_ms, event.reason, turn)
            )
            self._jobs.put(_Finish(event, time.monotonic(), turn))

    # -- STT (one greenlet per call, blocking work in the pool) ------------------------------------

    def _run_stt(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if isinstance(job, _Feed):
                    self._feed(job)
                elif isinstance(job, _Speculate):
                    self._speculate(job.event)
                else:
                    self._finish(job)
            except Exception:
                log.exception("call %s: speech recognition failed", self.call_id)
                if isinstance(job, _Speculate) and self.end_of_turn is not None:
                    self.end_of_turn.transcript(job.event.end_ms, None)

    def _feed(self, job: _Feed) -> None:
        chunks = [job.samples]
        while not self._jobs.empty() and isinstance(self._jobs.peek(), _Feed):
            chunks.append(self._jobs.get().samples)  # type: ignore[union-attr]
        assert self._stream is not None
        partial = self.stt_pool.spawn(self._stream.accept, np.concatenate(chunks)).get()
        if partial:
            self._partial = partial
            # Sent in job order, so a partial always comes before its utterance's final text.
            self.send(messages.partial(partial, job.start_ms))

    def _speculate(self, event: SpeechPaused) -> None:
        if not self._jobs.empty():
            if self.end_of_turn is not None:
                self.end_of_turn.transcript(event.end_ms, None)
            return  # the utterance is already over or speech resumed: the result would be stale
        transcript = self.stt_pool.spawn(self.recognizer.transcribe, event.audio, self.rate).get()
        self._speculation = (event.end_ms, transcript)
        if self.end_of_turn is not None:
            self.end_of_turn.transcript(event.end_ms, transcript.text)
        if transcript.text and self._jobs.empty():
            # Not final: the caller may go on. The controller prepares its reply to this meanwhile.
            self.send(messages.hypothesis(transcript.text, event.start_ms, event.end_ms))

    def _finish(self, job: _Finish) -> None:
        event = job.event
        speculative = False
        if self._stream is not None:
            transcript = self.stt_pool.spawn(self._stream.finish).get()
        elif self._speculation is not None and self._speculation[0] == event.end_ms:
            transcript, speculative = self._speculation[1], True
        else:
            transcript = self.stt_pool.spawn(self.recognizer.transcribe, event.audio, self.rate).get()
        self._speculation = None
        stt_ms = 1000.0 * (time.monotonic() - job.decided_at)
        metrics.stt_finished(self.recognizer.name, stt_ms / 1000, (event.end_ms - event.start_ms) / 1000)
        if not transcript.text:
            log.info("call %s: no words in %.0f ms of speech", self.call_id, event.end_ms - event.start_ms)
            if transcript.rejected is not None:
                self.send(
                    messages.stt_rejected(
                        reason=transcript.rejected,
                        chars=transcript.rejected_chars,
                        start_ms=event.start_ms,
                        end_ms=event.end_ms,
                        engine=self.recognizer.name,
                    )
                )
            return
        self.utterances += 1
        log.info("call %s: utterance %r (%.0f ms after the end)", self.call_id, transcript.text, stt_ms)
        self.send(
            messages.utterance(
                text=transcript.text,
                confidence=transcript.confidence,
                start_ms=event.start_ms,
                end_ms=event.end_ms,
                decided_ms=event.decided_ms,
                stt_ms=stt_ms,
                engine=self.recognizer.name,
                reason=event.reason,
                speculative=speculative,
                turn=job.turn,
            )
        )


class SpeechWorker:
    """Listener factory for ``MediaServer``: shared models, one :class:`SpeechListener` per call."""

    def __init__(
        self,
        vad: VadBatcher,
        recognizer: SpeechRecognizer,
        profiles: Callable[[CallType], SegmenterProfile],
        *,
        stt_threads: int = 2,
        reports: StreamReports | None = None,
        echo: EchoConfig | None = DEFAULT_ECHO,
        turn_ends: Callable[[CallType], TurnEndConfig | None] | None = None,
        turn_model: TurnPredictor | None = None,
    ) -> None:
        self.vad = vad
        self.turn_ends = turn_ends
        self.turn_model = turn_model
        self.recognizer = recognizer
        self.profiles = profiles
        self.reports = reports
        self.echo = echo
        self.stt_pool = gevent.threadpool.ThreadPool(stt_threads)

    def __call__(self, metadata: StreamMetadata, send: Send) -> SpeechListener:
        meter = self.reports(metadata, send) if self.reports is not None else None
        return SpeechListener(
            metadata,
            send,
            vad=self.vad,
            recognizer=self.recognizer,
            profile=self.profiles(metadata.call_type),
            stt_pool=self.stt_pool,
            meter=meter,
            echo=self.echo,
            turn_end=None if self.turn_ends is None else self.turn_ends(metadata.call_type),
            turn_model=self.turn_model,
        )

    def stop(self) -> None:
        self.vad.stop()
        stop_model = getattr(self.turn_model, "stop", None)
        if callable(stop_model):
            stop_model()
        self.stt_pool.kill()
