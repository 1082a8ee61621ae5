"""Reference-based echo gate: is this window only the agent's own voice coming back? Pure, audio time.

The line echoes what the agent plays, late (the path's delay) and quieter (its return loss). The
controller tells the worker what it plays: each sentence's level envelope (dB per 20 ms hop, see
:func:`reference_levels`) when it is broadcast, and when FreeSWITCH starts, pauses, resumes or stops it.
:class:`EchoGate` places those envelopes on the call's audio timeline and, for every VAD window, bounds
the loudest echo that could be in it: the reference's power over the window, at every delay the echo
path may have, plus the echo's gain. A window below ``bound + margin`` is echo only and must not count
as the caller's speech.

The gain is learnt during the call: the 90th percentile of (window level - reference level) over windows
where the reference is loud and the caller is not speaking, starting from ``initial_return_loss_db``.
Once the level envelopes correlate at one delay, only delays within 100 ms of it are considered, so the bound
follows the echo syllable by syllable and a caller who talks over the agent gets through.

There is no linear echo cancellation here: the gate decides which windows to ignore, it does not clean
the audio. That holds for non-linear paths (codecs, transcoding) where a linear canceller fails, at the
price of missing a caller who speaks much more quietly than the echo.
"""

from __future__ import annotations

import math
import wave
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HOP_MS = 20
FLOOR_DB = -90.0
_SILENT_DB = -120.0  # nothing plays
_LOUD_DB = -50.0  # reference hops at least this loud teach the gain
_HISTORY = 150  # windows kept for learning (~5 s of 32 ms windows)
_LEARN_EVERY = 8
_MIN_LOUD_WINDOWS = 30  # about a second of the agent's speech before the gain is learnt
_MAX_GAIN_DROP_DB = 3.0
# Each sentence is placed where its notice reached the worker, which jitters by tens of milliseconds, so
# the learnt delay is trusted to within this many hops either side (100 ms).
_DELAY_SLACK_HOPS = 5


def reference_levels(samples: np.ndarray, rate: int, hop_ms: int = HOP_MS) -> list[int]:
    """Level of each ``hop_ms`` of int16 mono audio in whole dBFS (floored at -90): the playback notice."""
    hop = max(1, rate * hop_ms // 1000)
    count = math.ceil(len(samples) / hop)
    if count == 0:
        return []
    padded = np.zeros(count * hop, dtype=np.float64)
    padded[: len(samples)] = samples.astype(np.float64)
    power = np.mean(padded.reshape(count, hop) ** 2, axis=1) / 32768.0**2
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(power)
    return [round(max(FLOOR_DB, float(v))) for v in levels]


MAX_REFERENCE_HOPS = 3000  # one minute: longer sentences are described up to here


def wav_reference_levels(path: Path) -> list[int]:
    """:func:`reference_levels` of a 16-bit WAV file (first channel), at most a minute of it."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: not 16-bit PCM")
        rate, channels = wav.getframerate(), wav.getnchannels()
        frames = wav.readframes(min(wav.getnframes(), rate * MAX_REFERENCE_HOPS * HOP_MS // 1000))
    samples = np.frombuffer(frames, dtype="<i2")[::channels]
    return reference_levels(samples, rate)


def level_db(window: np.ndarray) -> float:
    """Mean power of int16 samples in dBFS, floored."""
    if not len(window):
        return FLOOR_DB
    wide = window.astype(np.float64)
    power = float(np.dot(wide, wide)) / len(window) / 32768.0**2
    return max(FLOOR_DB, 10 * math.log10(power)) if power > 0 else FLOOR_DB


@dataclass(frozen=True)
class EchoConfig:
    """The echo path the gate allows for (``echo_*`` settings)."""

    # The reference notice can reach the worker after the audio it describes (ESL and WebSocket hops),
    # so negative delays are searched too.
    min_delay_ms: int = -200
    max_delay_ms: int = 500
    initial_return_loss_db: float = 6.0
    # How far above the echo bound a window must be to start speech, and to continue it (hysteresis).
    margin_db: float = 6.0
    speaking_margin_db: float = 0.0


DEFAULT_ECHO = EchoConfig()


@dataclass
class _Piece:
    id: str
    levels: np.ndarray  # dB per hop
    queued_hop: int
    start_hop: int | None = None
    confirmed: bool = False  # placed by FreeSWITCH's PLAYBACK_START, not guessed
    held: bool = False  # the rest of a paused piece, waiting for the resume

    @property
    def end_hop(self) -> int | None:
        return None if self.start_hop is None else self.start_hop + len(self.levels)


@dataclass
class _Window:
    start_hop: int
    hops: int
    level: float
    speaking: bool


@dataclass
class EchoGate:
    """One call's echo gate; times are samples at ``rate`` since the stream started."""

    rate: int
    config: EchoConfig = field(default_factory=EchoConfig)

    def __post_init__(self) -> None:
        self._hop = self.rate * HOP_MS // 1000
        self._pieces: list[_Piece] = []
        self._playing = False
        self.last_level: float = FLOOR_DB  # the last window's level and echo bound, for the logs
        self.last_bound: float | None = None
        self._history: deque[_Window] = deque(maxlen=_HISTORY)
        self._gain_db = -self.config.initial_return_loss_db
        self._delay_hops: int | None = None  # learnt echo delay
        self._since_learn = 0

    # -- what the controller says --------------------------------------------------------------

    def queue(self, piece_id: str, levels: Sequence[float], at_sample: int) -> None:
        """A sentence was broadcast; it plays after the ones before it (FreeSWITCH's queue is FIFO)."""
        array = np.asarray(levels, dtype=np.float64)
        self._playing = True
        if array.size:
            self._pieces.append(_Piece(piece_id, array, self._to_hop(at_sample)))
            self._place()

    def started(self, piece_id: str, at_sample: int) -> None:
        """FreeSWITCH started playing ``piece_id`` (PLAYBACK_START): place it here, drop those before it."""
        index = next((i for i, p in enumerate(self._pieces) if p.id == piece_id and not p.held), None)
        if index is None:
            return
        now = self._to_hop(at_sample)
        for earlier in self._pieces[:index]:
            self._truncate(earlier, now)
        piece = self._pieces[index]
        piece.start_hop, piece.confirmed = now, True
        self._place()

    def paused(self, at_sample: int) -> None:
        """Playback paused: what was left of the current sentence waits for :meth:`resumed`."""
        now = self._to_hop(at_sample)
        for index, piece in enumerate(self._pieces):
            end = piece.end_hop
            if piece.start_hop is None or piece.held or end is None or end <= now:
                continue
            played = max(0, now - piece.start_hop)
            rest = _Piece(piece.id, piece.levels[played:], now, held=True)
            piece.levels = piece.levels[:played]
            self._pieces.insert(index + 1, rest)
            break
        self._place()

    def resumed(self, at_sample: int) -> None:
        now = self._to_hop(at_sample)
        for piece in self._pieces:
            if piece.held:
                piece.held, piece.start_hop, piece.confirmed = False, now, True
                break
        self._place()

    def stopped(self, at_sample: int) -> None:
        """Nothing plays from here on (a break, or the agent has finished)."""
        now = self._to_hop(at_sample)
        self._playing = False
        for piece in self._pieces:
            self._truncate(piece, now)
        # What already played stays: its echo is still on its way back.
        self._pieces = [p for p in self._pieces if p.start_hop is not None and p.levels.size]

    @property
    def active(self) -> bool:
        """The agent is playing and its reference is placed: the gate can tell echo from speech."""
        return self._playing and any(p.start_hop is not None for p in self._pieces)

    @property
    def gain_db(self) -> float:
        """Current estimate of the echo's level relative to the reference."""
        return self._gain_db

    @property
    def delay_ms(self) -> int | None:
        """The echo path's delay, once the envelopes agree on one."""
        return None if self._delay_hops is None else self._delay_hops * HOP_MS

    # -- the audio ------------------------------------------------------------------------------

    def is_echo(self, start_sample: int, window: np.ndarray, *, speaking: bool = False) -> bool:
        """True when ``window`` (starting at ``start_sample``) is no louder than the echo could be.

        ``speaking``: the caller is already speaking (the window then teaches nothing about the echo).
        """
        start_hop = self._to_hop(start_sample)
        hops = max(1, round(len(window) / self._hop))
        level = level_db(window)
        self._history.append(_Window(start_hop, hops, level, speaking))
        self._forget(start_hop)
        if not self._pieces:
            return False
        reference = self._reference_db(start_hop, hops)
        self._since_learn += 1
        if self._since_learn >= _LEARN_EVERY:
            self._since_learn = 0
            self._learn()
        self.last_level, self.last_bound = level, None
        if reference is None:
            return False
        margin = self.config.speaking_margin_db if speaking else self.config.margin_db
        self.last_bound = reference + self._gain_db + margin
        return level < self.last_bound

    # -- internals ----------------------------------------------------------------------------------

    def _to_hop(self, sample: int) -> int:
        return sample // self._hop

    def _delay_range(self) -> tuple[int, int]:
        if self._delay_hops is not None:
            return self._delay_hops - _DELAY_SLACK_HOPS, self._delay_hops + _DELAY_SLACK_HOPS
        return self.config.min_delay_ms // HOP_MS, -(-self.config.max_delay_ms // HOP_MS)

    def _place(self) -> None:
        """Chain unconfirmed pieces after the one before them; a held piece stops the chain."""
        previous_end: int | None = None
        blocked = False
        for piece in self._pieces:
            if piece.held:
                blocked = True
                continue
            if blocked and not piece.confirmed:
                piece.start_hop = None
                continue
            if not piece.confirmed:
                piece.start_hop = max(piece.queued_hop, previous_end or piece.queued_hop)
            previous_end = piece.end_hop

    def _truncate(self, piece: _Piece, at_hop: int) -> None:
        if piece.start_hop is None:
            piece.levels = piece.levels[:0]
            return
        piece.levels = piece.levels[: max(0, at_hop - piece.start_hop)]

    def _forget(self, now_hop: int) -> None:
        horizon = now_hop - (self.config.max_delay_ms // HOP_MS) - _HISTORY * 2
        self._pieces = [p for p in self._pieces if p.end_hop is None or p.end_hop >= horizon]

    def _dense(self, first_hop: int, last_hop: int) -> np.ndarray:
        """Reference dB per hop over [first_hop, last_hop), silent where nothing plays."""
        out = np.full(max(0, last_hop - first_hop), _SILENT_DB)
        for piece in self._pieces:
            start, end = piece.start_hop, piece.end_hop
            if start is None or end is None or end <= first_hop or start >= last_hop:
                continue
            lo, hi = max(start, first_hop), min(end, last_hop)
            out[lo - first_hop : hi - first_hop] = np.maximum(
                out[lo - first_hop : hi - first_hop], piece.levels[lo - start : hi - start]
            )
        return out

    def _aligned_power(self, start_hop: int, hops: int, delays: range) -> np.ndarray:
        """Mean reference power (linear) over the window, for each delay in ``delays``."""
        first = start_hop - delays[-1]
        dense = 10 ** (self._dense(first, start_hop - delays[0] + hops) / 10)
        sums = np.concatenate([[0.0], np.cumsum(dense)])
        # delay d covers dense[(start_hop - d) - first : ... + hops]
        offsets = np.array([start_hop - d - first for d in delays])
        return np.asarray((sums[offsets + hops] - sums[offsets]) / hops)

    def _reference_db(self, start_hop: int, hops: int) -> float | None:
        lo, hi = self._delay_range()
        power = self._aligned_power(start_hop, hops, range(lo, hi + 1))
        loudest = float(power.max()) if power.size else 0.0
        if loudest <= 10 ** (FLOOR_DB / 10):
            return None
        return 10 * math.log10(loudest)

    def _learn(self) -> None:
        windows = [w for w in self._history if not w.speaking]
        if len(windows) < 12:
            return
        lo, hi = self.config.min_delay_ms // HOP_MS, -(-self.config.max_delay_ms // HOP_MS)
        delays = range(lo, hi + 1)
        with np.errstate(divide="ignore"):
            refs = np.array(
                [10 * np.log10(self._aligned_power(w.start_hop, w.hops, delays)) for w in windows]
            )
        levels = np.array([w.level for w in windows])
        self._delay_hops = self._best_delay(refs, levels, delays)
        if self._delay_hops is not None:
            index = self._delay_hops - lo
            window_refs = refs[:, max(0, index - _DELAY_SLACK_HOPS) : index + _DELAY_SLACK_HOPS + 1].max(
                axis=1
            )
        else:
            window_refs = refs.max(axis=1)
        loud = window_refs >= _LOUD_DB
        if loud.sum() >= _MIN_LOUD_WINDOWS:
            estimate = float(np.percentile(levels[loud] - window_refs[loud], 90))
            # Up at once (echo must never pass), down slowly (one quiet stretch proves little).
            self._gain_db = max(estimate, self._gain_db - _MAX_GAIN_DROP_DB)

    @staticmethod
    def _best_delay(refs: np.ndarray, levels: np.ndarray, delays: range) -> int | None:
        """The delay at which the window levels follow the reference best, if they clearly do."""
        active = refs.max(axis=1) >= _LOUD_DB
        if active.sum() < 12 or np.std(levels[active]) < 1.0:
            return None
        clipped = np.maximum(refs[active], FLOOR_DB)
        centred = clipped - clipped.mean(axis=0)
        target = levels[active] - levels[active].mean()
        norms = np.linalg.norm(centred, axis=0) * np.linalg.norm(target)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.where(norms > 0, centred.T @ target / norms, 0.0)
        best = int(np.argmax(correlation))
        if correlation[best] < 0.7:
            return None
        return delays[best]
