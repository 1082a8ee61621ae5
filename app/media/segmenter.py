"""Turns a call's VAD probabilities into utterances: pure, no sockets, no clocks (time is audio time).

Feed it one VAD window at a time with :meth:`Segmenter.push`; it returns what happened:

- :class:`SpeechOnset` at the first window of possible speech while the agent is playing (echo-guard
  mode), so the controller can pause the agent at once, and :class:`SpeechCancelled` if that candidate
  dies before it becomes speech (a backchannel, a cough): the agent then resumes;
- :class:`SpeechStarted` once enough speech has accumulated (``min_speech_ms``), dated from the first
  speech window;
- :class:`SpeechPaused` the first time a pause reaches ``speculate_ms`` (a hint: an STT engine that
  only transcribes whole utterances can start early and keep the result if the speech does not resume);
- :class:`UtteranceEnded` after ``silence_ms`` of silence (or the pause limit the caller set for this
  pause with :meth:`Segmenter.set_pause_limit`: the end-of-turn policy's), at ``max_utterance_ms``, or at
  the end of the stream, with the audio (from ``preroll_ms`` before the speech to a short tail after it).

The threshold adapts: a running estimate of the VAD probability and energy of the background (the noise
floor) raises the start threshold on noisy lines, and while the agent is speaking (echo-guard mode) a
stricter threshold and a longer minimum speech are needed before a barge-in counts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from app.domain import CallType


@dataclass(frozen=True)
class SegmenterProfile:
    """Tuning for one kind of call; the defaults are the SIP profile."""

    threshold: float = 0.6
    silence_ms: int = 500
    min_speech_ms: int = 250
    preroll_ms: int = 300
    tail_ms: int = 100  # at most speculate_ms, so the early transcript hears the same audio as the final
    max_utterance_ms: int = 20_000
    # Below ``threshold - hysteresis`` a window counts as silence (Silero's usual negative threshold).
    hysteresis: float = 0.15
    echo_threshold: float = 0.85
    echo_min_speech_ms: int = 600
    noise_adapt: bool = True
    # The start threshold is kept ``noise_margin`` above the background's mean probability.
    noise_margin: float = 0.3
    max_threshold: float = 0.92
    # A window must be this many dB above the background's energy to start speech.
    energy_gate_db: float = 3.0
    speculate_ms: int = 100
    # A one-word answer over a G.711 line ("yes" without its "s") can be shorter than min_speech_ms: a
    # candidate of at least this much voiced speech that Silero was this sure of is kept (0: off).
    # Not over the agent, where echo_min_speech_ms rules.
    short_answer_ms: int = 120
    short_answer_probability: float = 0.9


def profile_for(call_type: CallType, sip: SegmenterProfile, webrtc: SegmenterProfile) -> SegmenterProfile:
    return webrtc if call_type is CallType.WEBRTC else sip


@dataclass(frozen=True)
class SpeechOnset:
    start_ms: float


@dataclass(frozen=True)
class SpeechCancelled:
    start_ms: float


@dataclass(frozen=True)
class SpeechStarted:
    start_ms: float


@dataclass(frozen=True)
class SpeechPaused:
    start_ms: float
    end_ms: float
    audio: np.ndarray


@dataclass(frozen=True)
class UtteranceEnded:
    start_ms: float
    end_ms: float
    decided_ms: float
    audio: np.ndarray
    reason: str  # "silence", "max_length" or "stream_end"


SegmenterEvent = SpeechOnset | SpeechCancelled | SpeechStarted | SpeechPaused | UtteranceEnded

# A candidate dies after this much silence; over the agent a longer gap is allowed, so "Sorry, ... I
# wanted" stays one candidate instead of pausing and resuming the agent twice.
_CANDIDATE_GAP_MS = {False: 200, True: 400}
_NOISE_ALPHA = 0.03  # per 32 ms window: a time constant of about one second
_FLOOR_DB = -90.0


def _energy_db(window: np.ndarray) -> float:
    if not len(window):
        return _FLOOR_DB
    wide = window.astype(np.float32)
    power = float(np.dot(wide, wide)) / len(window)
    return max(_FLOOR_DB, 10 * math.log10(power / (32768.0**2)) if power > 0 else _FLOOR_DB)


class Segmenter:
    """One call's segmentation state. Windows must all have the same length."""

    def __init__(self, profile: SegmenterProfile, rate: int) -> None:
        self.profile = profile
        self.rate = rate
        self.playback = False
        self.noise_probability = 0.0
        self.noise_db: float | None = None
        self._now_ms = 0.0
        self._preroll: deque[np.ndarray] = deque()
        self._preroll_ms = 0.0
        self._chunks: list[np.ndarray] = []
        self._speech_start_ms: float | None = None  # first voiced window of the candidate/utterance
        self._last_voice_end_ms = 0.0
        self._voiced_ms = 0.0
        self._peak_probability = 0.0
        self._started = False  # SpeechStarted has been emitted
        self._paused_sent = False
        self._voiced_chunks = 0  # chunks up to the last voiced window
        self._onset_sent = False
        self._pause_limit_ms: float | None = None  # this pause's end silence; None: profile.silence_ms

    # -- what the controller tells us -------------------------------------------------------------

    def set_playback(self, on: bool) -> None:
        """Echo-guard mode while the agent's audio plays to the caller."""
        self.playback = on

    # -- thresholds ----------------------------------------------------------------------------------

    @property
    def start_threshold(self) -> float:
        p = self.profile
        threshold = p.threshold
        if p.noise_adapt:
            threshold = max(threshold, min(p.max_threshold, self.noise_probability + p.noise_margin))
        if self.playback:
            threshold = max(threshold, p.echo_threshold)
        return threshold

    @property
    def continue_threshold(self) -> float:
        return max(0.05, self.start_threshold - self.profile.hysteresis)

    @property
    def min_speech_ms(self) -> int:
        return self.profile.echo_min_speech_ms if self.playback else self.profile.min_speech_ms

    @property
    def speaking(self) -> bool:
        """Speech has started (SpeechStarted was emitted) and not ended yet."""
        return self._started

    @property
    def speech_start_ms(self) -> float | None:
        """Start of the speech being heard (candidate or started), None in silence."""
        return self._speech_start_ms

    @property
    def pause_end_ms(self) -> float | None:
        """Where the current pause began (the end of the last speech), None unless speech has paused."""
        if not self._started or self._now_ms <= self._last_voice_end_ms:
            return None
        return self._last_voice_end_ms

    @property
    def end_silence_ms(self) -> float:
        """The silence that ends the utterance in the current pause."""
        return self.profile.silence_ms if self._pause_limit_ms is None else self._pause_limit_ms

    def set_pause_limit(self, silence_ms: float) -> list[SegmenterEvent]:
        """End the current pause's utterance after ``silence_ms`` of silence instead of ``silence_ms`` of the
        profile (until speech resumes); if that much silence has passed already, it ends now."""
        if self.pause_end_ms is None:
            return []
        self._pause_limit_ms = silence_ms
        if self._now_ms - self._last_voice_end_ms >= silence_ms:
            return [self._end("silence")]
        return []

    def current_audio(self) -> np.ndarray:
        """The audio of the utterance so far, pre-roll included."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)

    # -- input -----------------------------------------------------------------------------------------

    @property
    def now_ms(self) -> float:
        """Audio time at the end of the last window pushed."""
        return self._now_ms

    def push(self, window: np.ndarray, probability: float, *, echo: bool = False) -> list[SegmenterEvent]:
        """One VAD window (int16 samples) and its speech probability; returns the events it caused.

        ``echo``: the window is only the agent's own voice coming back; it counts as silence and does
        not teach the noise floor.
        """
        duration = 1000.0 * len(window) / self.rate
        start_ms, self._now_ms = self._now_ms, self._now_ms + duration
        if echo:
            probability = 0.0
        energy = _energy_db(window)
        if self._speech_start_ms is None:
            return self._push_silence(window, probability, energy, start_ms, duration, learn=not echo)
        return self._push_speech(window, probability, start_ms, duration)

    def finish(self) -> list[SegmenterEvent]:
        """The stream ended: an utterance in progress ends here."""
        if self._started:
            return [self._end("stream_end")]
        return self._drop_candidate()

    def _push_silence(
        self,
        window: np.ndarray,
        probability: float,
        energy: float,
        start_ms: float,
        duration: float,
        *,
        learn: bool,
    ) -> list[SegmenterEvent]:
        gate_ok = self.noise_db is None or energy >= self.noise_db + self.profile.energy_gate_db
        if probability >= self.start_threshold and gate_ok:
            self._speech_start_ms = start_ms
            self._chunks = [*self._preroll, window]
            self._voiced_chunks = len(self._chunks)
            self._voiced_ms = duration
            self._peak_probability = probability
            self._last_voice_end_ms = self._now_ms
            self._clear_preroll()
            started = self._maybe_started()
            if started or not self.playback:
                return started
            self._onset_sent = True
            return [SpeechOnset(start_ms)]
        if learn:
            self._learn_noise(probability, energy)
        self._remember(window)
        return []

    def _push_speech(
        self, window: np.ndarray, probability: float, start_ms: float, duration: float
    ) -> list[SegmenterEvent]:
        assert self._speech_start_ms is not None
        self._chunks.append(window)
        events: list[SegmenterEvent] = []
        if probability >= self.continue_threshold:
            self._voiced_ms += duration
            self._peak_probability = max(self._peak_probability, probability)
            self._voiced_chunks = len(self._chunks)
            self._last_voice_end_ms = self._now_ms
            self._paused_sent = False
            self._pause_limit_ms = None
            events.extend(self._maybe_started())
        silence = self._now_ms - self._last_voice_end_ms
        if not self._started:
            if silence < min(self.profile.silence_ms, _CANDIDATE_GAP_MS[self.playback]):
                return events
            if not self._is_short_answer():
                # A candidate that goes quiet before reaching the minimum length was a click or a cough.
                events.extend(self._drop_candidate())
                return events
            self._started = True
            events.append(SpeechStarted(self._speech_start_ms))
        if self._now_ms - self._speech_start_ms >= self.profile.max_utterance_ms:
            events.append(self._end("max_length"))
            return events
        if silence >= self.end_silence_ms:
            events.append(self._end("silence"))
        elif silence >= self.profile.speculate_ms and not self._paused_sent and silence > 0:
            self._paused_sent = True
            events.append(
                SpeechPaused(self._speech_start_ms, self._last_voice_end_ms, self._utterance_audio())
            )
        return events

    def _maybe_started(self) -> list[SegmenterEvent]:
        if self._started or self._voiced_ms < self.min_speech_ms:
            return []
        self._started = True
        assert self._speech_start_ms is not None
        return [SpeechStarted(self._speech_start_ms)]

    def _is_short_answer(self) -> bool:
        """A short, strong voiced burst: a clipped "yes", not a cough (which Silero scores low)."""
        p = self.profile
        return (
            not self.playback
            and p.short_answer_ms > 0
            and self._voiced_ms >= p.short_answer_ms
            and self._peak_probability >= p.short_answer_probability
        )

    def _utterance_audio(self) -> np.ndarray:
        tail_chunks = 0
        tail_ms = 0.0
        for chunk in self._chunks[self._voiced_chunks :]:
            if tail_ms >= self.profile.tail_ms:
                break
            tail_chunks += 1
            tail_ms += 1000.0 * len(chunk) / self.rate
        chunks = self._chunks[: self._voiced_chunks + tail_chunks]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def _end(self, reason: str) -> UtteranceEnded:
        assert self._speech_start_ms is not None
        event = UtteranceEnded(
            start_ms=self._speech_start_ms,
            end_ms=self._last_voice_end_ms,
            decided_ms=self._now_ms,
            audio=self._utterance_audio(),
            reason=reason,
        )
        # The silence after the speech becomes the next pre-roll.
        leftover = self._chunks[self._voiced_chunks :]
        self._reset_speech()
        for chunk in leftover:
            self._remember(chunk)
        return event

    def _drop_candidate(self) -> list[SegmenterEvent]:
        start_ms, onset_sent = self._speech_start_ms, self._onset_sent
        leftover = self._chunks
        self._reset_speech()
        for chunk in leftover:
            self._remember(chunk)
        if onset_sent and start_ms is not None:
            return [SpeechCancelled(start_ms)]
        return []

    def _remember(self, window: np.ndarray) -> None:
        """Keep the last ``preroll_ms`` of non-speech audio, to prepend to the next utterance."""
        self._preroll.append(window)
        self._preroll_ms += 1000.0 * len(window) / self.rate
        while len(self._preroll) > 1:
            first_ms = 1000.0 * len(self._preroll[0]) / self.rate
            if self._preroll_ms - first_ms < self.profile.preroll_ms:
                break
            self._preroll.popleft()
            self._preroll_ms -= first_ms

    def _reset_speech(self) -> None:
        self._speech_start_ms = None
        self._started = False
        self._paused_sent = False
        self._onset_sent = False
        self._pause_limit_ms = None
        self._chunks = []
        self._voiced_chunks = 0
        self._voiced_ms = 0.0
        self._peak_probability = 0.0
        self._clear_preroll()

    def _clear_preroll(self) -> None:
        self._preroll.clear()
        self._preroll_ms = 0.0

    def _learn_noise(self, probability: float, energy: float) -> None:
        self.noise_probability += _NOISE_ALPHA * (probability - self.noise_probability)
        if self.noise_db is None:
            self.noise_db = energy
        else:
            self.noise_db += _NOISE_ALPHA * (energy - self.noise_db)
