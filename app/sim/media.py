"""Real-time audio of one simulated FreeSWITCH channel.

A channel has a read direction (what the caller says, from a WAV, silence after it ends) and a
write direction (what is played to the caller: one ``Playback`` at a time, or nothing). Every
20 ms a clock greenlet advances both by one frame at the channel's codec rate, hands the pair to
the media bugs (``mod_audio_stream`` forks) and appends it to a time-aligned stereo recording.
Ticks are scheduled against a monotonic start time, so the clock does not drift. A ``LineEcho``
adds what is played back into the read direction, as a phone line's hybrid does.
"""

from __future__ import annotations

import logging
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import gevent
import gevent.event
import numpy as np

from app.sim.playback import Playback, native_rate_of
from app.sim.wav import Int16Array, load_mono, write_wav

logger = logging.getLogger(__name__)

FRAME_MS = 20
FRAME_SECONDS = FRAME_MS / 1000
# Beyond this backlog (the process was frozen) the clock skips ahead instead of bursting frames.
MAX_CATCH_UP_FRAMES = 50


class MediaBug(Protocol):
    """Something that taps a channel's audio, like a FreeSWITCH media bug."""

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        """One 20 ms frame: caller audio, and what is played to the caller (None: nothing plays).

        Called from the media clock: it must not block.
        """

    def on_media_close(self) -> None:
        """The channel's media has stopped (hangup)."""


class CallerSource(Protocol):
    """Live caller audio (a WebRTC peer, say) instead of a WAV file."""

    def read_frame(self, size: int) -> Int16Array:
        """The next ``size`` samples at the channel rate; called from the media clock, must not block."""


@dataclass(frozen=True)
class LineEcho:
    """The echo of a phone line: what is played to the caller comes back, later and quieter."""

    gain_db: float
    """Level of the echo relative to what was played (negative: quieter)."""
    delay_ms: int
    """How long after it was played the echo arrives."""


class _EchoPath:
    """A delay line from the write direction to the read direction, scaled by the echo's gain."""

    def __init__(self, echo: LineEcho, rate: int) -> None:
        if echo.delay_ms < 0:
            raise ValueError(f"echo delay {echo.delay_ms} ms is negative")
        self.gain = 10.0 ** (echo.gain_db / 20.0)
        self._pending = np.zeros(echo.delay_ms * rate // 1000, np.int16)

    def mix(self, read: Int16Array, write: Int16Array) -> Int16Array:
        """``read`` plus the echo of what was written ``delay_ms`` ago (int16, saturating)."""
        line = np.concatenate([self._pending, write])
        delayed, self._pending = line[: read.shape[0]], line[read.shape[0] :]
        echo = np.rint(delayed.astype(np.float64) * self.gain)
        mixed: Int16Array = np.clip(read + echo, -32768, 32767).astype(np.int16)
        return mixed


class ChannelMedia:
    """The real-time audio of one channel at its codec rate: 20 ms ticks in a gevent greenlet."""

    def __init__(
        self,
        *,
        uuid: str,
        rate: int,
        caller_audio: Path | None,
        recording_path: Path | None,
        echo: LineEcho | None = None,
        rtp_ends_with_audio: bool = False,
    ) -> None:
        if rate % 50:
            raise ValueError(f"rate {rate} does not divide into 20 ms frames")
        self.uuid = uuid
        self.rate = rate
        self.frame_samples = rate * FRAME_MS // 1000
        self.recording_path = recording_path
        self.frames_elapsed = 0
        self._caller = load_mono(caller_audio, rate) if caller_audio else np.zeros(0, np.int16)
        self._caller_source: CallerSource | None = None
        self._current: Playback | None = None
        self._bugs: list[MediaBug] = []
        self._recorded: list[Int16Array] = []
        self._clock: gevent.Greenlet[[], None] | None = None
        self._stopped = False
        self._frame_waiters: list[tuple[int, gevent.event.Event]] = []
        self._echo = _EchoPath(echo, rate) if echo is not None else None
        self._rtp_arriving = True
        self.rtp_ends_with_audio = rtp_ends_with_audio
        """The caller's RTP stops when its WAV ends (what SIPp's rtp_stream does)."""
        self.max_late_ms = 0.0
        """The most a frame was produced after its due time (a busy process delays the clock greenlet);
        timestamps taken on the wall clock can disagree with the recording by up to this much."""
        self.skipped_ms = 0
        """Time the clock skipped after a freeze: it is missing from the recording."""

    @property
    def samples_elapsed(self) -> int:
        """Samples (at the channel rate) since media started."""
        return self.frames_elapsed * self.frame_samples

    @property
    def clock_error_ms(self) -> float:
        """How far a wall-clock time can be from the same moment on the recording's timeline."""
        return self.max_late_ms + self.skipped_ms

    @property
    def stopped(self) -> bool:
        """True once ``stop`` has run."""
        return self._stopped

    def start(self) -> None:
        """Start the media clock; caller audio starts now (t=0)."""
        if self._clock is not None or self._stopped:
            return
        self._clock = gevent.spawn(self._run_clock)
        logger.debug("%s media started at %d Hz", self.uuid, self.rate)

    def play(self, path: Path) -> Playback:
        """Play a WAV (any rate and channel count, resampled) to the caller from the next frame on."""
        if self._stopped:
            raise RuntimeError(f"{self.uuid}: channel media has stopped")
        if self._current is not None and not self._current.finished.is_set():
            raise RuntimeError(f"{self.uuid}: {self._current.path} is still playing")
        playback = Playback(
            uuid=self.uuid,
            path=path,
            samples=load_mono(path, self.rate),
            rate=self.rate,
            native_rate=native_rate_of(path),
        )
        self._current = playback
        logger.debug("%s playing %s (%d samples)", self.uuid, path, playback.total_samples)
        return playback

    @property
    def current_playback(self) -> Playback | None:
        """The playback in progress, if any."""
        if self._current is not None and self._current.finished.is_set():
            return None
        return self._current

    @property
    def rtp_arriving(self) -> bool:
        """Whether the caller's packets arrive; while they do not, FreeSWITCH's read blocks (see advance_frame)."""
        return self._rtp_arriving

    def stop_rtp(self) -> None:
        """The caller's RTP stops from the next frame on (its audio is lost, not delayed)."""
        self._rtp_arriving = False

    def resume_rtp(self) -> None:
        """The caller's RTP arrives again from the next frame on."""
        self.rtp_ends_with_audio = False
        self._rtp_arriving = True

    def set_caller_source(self, source: CallerSource) -> None:
        """Take the caller's audio from ``source`` from the next frame on (instead of the WAV)."""
        self._caller_source = source

    def add_bug(self, bug: MediaBug) -> None:
        """Attach a media bug: it gets every frame from the next tick on."""
        if bug not in self._bugs:
            self._bugs.append(bug)

    def remove_bug(self, bug: MediaBug) -> None:
        """Detach a media bug (no close callback)."""
        if bug in self._bugs:
            self._bugs.remove(bug)

    def wait_frames(self, count: int, timeout: float | None = None) -> bool:
        """Block the calling greenlet until ``count`` frames have elapsed; False on timeout or hangup."""
        if self.frames_elapsed < count and not self._stopped:
            reached = gevent.event.Event()
            self._frame_waiters.append((count, reached))
            reached.wait(timeout)
        return self.frames_elapsed >= count

    def stop(self) -> None:
        """Hang up: stop ticking, stop any playback, write the recording, close the media bugs."""
        if self._stopped:
            return
        self._stopped = True
        if self._clock is not None and self._clock is not gevent.getcurrent():
            self._clock.kill(block=False)
        if self._current is not None:
            self._current.stop()
        self._write_recording()
        for bug in list(self._bugs):
            self._bugs.remove(bug)
            try:
                bug.on_media_close()
            except Exception:
                logger.exception("%s media bug failed on close", self.uuid)
        for _, reached in self._frame_waiters:
            reached.set()
        logger.debug("%s media stopped after %d frames", self.uuid, self.frames_elapsed)

    def advance_frame(self) -> None:
        """Advance the channel by one 20 ms frame (the clock calls this; tests may call it directly)."""
        offset = self.samples_elapsed
        if self._caller_source is not None:
            read = self._caller_source.read_frame(self.frame_samples)
        else:
            read = self._caller[offset : offset + self.frame_samples]
            if self.rtp_ends_with_audio and offset >= self._caller.shape[0]:
                self._rtp_arriving = False
        if not self._rtp_arriving:
            read = np.zeros(0, np.int16)
        if read.shape[0] < self.frame_samples:
            read = np.concatenate([read, np.zeros(self.frame_samples - read.shape[0], np.int16)])
        write = self._current.next_frame(self.frame_samples, offset) if self._current else None
        if self._current is not None and self._current.finished.is_set():
            self._current = None
        if self._echo is not None:
            # the line's echo reaches us mixed into what the caller says, before any tap sees it
            read = self._echo.mix(
                read, write if write is not None else np.zeros(self.frame_samples, np.int16)
            )
        if self.recording_path is not None:
            right = write if write is not None else np.zeros(self.frame_samples, np.int16)
            self._recorded.append(np.stack([read, right], axis=1))
        # Without packets the read of a parked channel (switch_ivr_park) waits in switch_rtp.c (DATAWAIT), so
        # its media bugs get nothing; a playing file reads with SWITCH_IO_FLAG_SINGLE_READ, gets CNG frames
        # (silence for the bugs) and goes on writing, so the bugs still get frames while it plays.
        fed = self._bugs if self._rtp_arriving or write is not None else []
        for bug in list(fed):
            try:
                bug.on_media_frame(read, write)
            except Exception:
                logger.exception("%s media bug failed on a frame", self.uuid)
        self.frames_elapsed += 1
        self._wake_frame_waiters()

    def _wake_frame_waiters(self) -> None:
        if not self._frame_waiters:
            return
        waiting = []
        for count, reached in self._frame_waiters:
            if self.frames_elapsed >= count:
                reached.set()
            else:
                waiting.append((count, reached))
        self._frame_waiters = waiting

    def _run_clock(self) -> None:
        start = time.monotonic()
        done = 0
        while not self._stopped:
            due = int((time.monotonic() - start) / FRAME_SECONDS)
            if due - done > MAX_CATCH_UP_FRAMES:
                logger.warning("%s media clock %d frames late, skipping ahead", self.uuid, due - done)
                self.skipped_ms += (due - done) * FRAME_MS
                start += (due - done) * FRAME_SECONDS
                due = done
            while done < due and not self._stopped:
                late_ms = 1000 * (time.monotonic() - start - (done + 1) * FRAME_SECONDS)
                self.max_late_ms = max(self.max_late_ms, late_ms)
                self.advance_frame()
                done += 1
            gevent.sleep(max(0.0, start + (done + 1) * FRAME_SECONDS - time.monotonic()))

    def _write_recording(self) -> None:
        if self.recording_path is None:
            return
        if not self._recorded:
            # hung up before the first frame: an empty stereo WAV (write_wav cannot shape 0 samples)
            with wave.open(str(self.recording_path), "wb") as wav:
                wav.setnchannels(2)
                wav.setsampwidth(2)
                wav.setframerate(self.rate)
            return
        frames = np.concatenate(self._recorded)
        write_wav(self.recording_path, frames, self.rate)
        logger.debug("%s recording written to %s (%d frames)", self.uuid, self.recording_path, len(frames))
