"""Real-time audio of one simulated FreeSWITCH channel.

A channel has a read direction (what the caller says, from a WAV, silence after it ends) and a
write direction (what is played to the caller: one ``Playback`` at a time, or nothing). Every
20 ms a clock greenlet advances both by one frame at the channel's codec rate, hands the pair to
the media bugs (``mod_audio_stream`` forks) and appends it to a time-aligned stereo recording.
Ticks are scheduled against a monotonic start time, so the clock does not drift.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Protocol

import gevent
import gevent.event
import numpy as np

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


class Playback:
    """One file being played to the caller (what ``uuid_broadcast`` starts)."""

    def __init__(self, *, uuid: str, path: Path, samples: Int16Array, rate: int) -> None:
        self.uuid = uuid
        self.path = path
        self.rate = rate
        self.started = gevent.event.Event()
        self.finished = gevent.event.Event()
        self.status = ""
        self.played_samples = 0
        self.start_sample: int | None = None
        """Channel sample offset (since media start) of the first sample played."""
        self._samples = samples

    @property
    def played_ms(self) -> int:
        """How much of the file the caller has heard, in milliseconds."""
        return self.played_samples * 1000 // self.rate

    @property
    def total_samples(self) -> int:
        """Length of the file at the channel rate."""
        return int(self._samples.shape[0])

    def stop(self) -> None:
        """Stop playing now (``uuid_break``): status becomes ``break``."""
        if self.finished.is_set():
            return
        self.status = "break"
        self.finished.set()
        logger.debug("%s playback of %s broken after %d ms", self.uuid, self.path, self.played_ms)

    def next_frame(self, size: int, channel_offset: int) -> Int16Array | None:
        """The next ``size`` samples to play (zero-padded at the end), or None once finished."""
        if self.finished.is_set():
            return None
        if self.start_sample is None:
            self.start_sample = channel_offset
            self.started.set()
        chunk = self._samples[self.played_samples : self.played_samples + size]
        self.played_samples += int(chunk.shape[0])
        if self.played_samples >= self.total_samples:
            self.status = "done"
            self.finished.set()
        if chunk.shape[0] < size:
            chunk = np.concatenate([chunk, np.zeros(size - chunk.shape[0], np.int16)])
        return chunk


class ChannelMedia:
    """The real-time audio of one channel at its codec rate: 20 ms ticks in a gevent greenlet."""

    def __init__(
        self, *, uuid: str, rate: int, caller_audio: Path | None, recording_path: Path | None
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

    @property
    def samples_elapsed(self) -> int:
        """Samples (at the channel rate) since media started."""
        return self.frames_elapsed * self.frame_samples

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
        playback = Playback(uuid=self.uuid, path=path, samples=load_mono(path, self.rate), rate=self.rate)
        self._current = playback
        logger.debug("%s playing %s (%d samples)", self.uuid, path, playback.total_samples)
        return playback

    @property
    def current_playback(self) -> Playback | None:
        """The playback in progress, if any."""
        if self._current is not None and self._current.finished.is_set():
            return None
        return self._current

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
        if read.shape[0] < self.frame_samples:
            read = np.concatenate([read, np.zeros(self.frame_samples - read.shape[0], np.int16)])
        write = self._current.next_frame(self.frame_samples, offset) if self._current else None
        if self._current is not None and self._current.finished.is_set():
            self._current = None
        if self.recording_path is not None:
            right = write if write is not None else np.zeros(self.frame_samples, np.int16)
            self._recorded.append(np.stack([read, right], axis=1))
        for bug in list(self._bugs):
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
                start += (due - done) * FRAME_SECONDS
                due = done
            while done < due and not self._stopped:
                self.advance_frame()
                done += 1
            gevent.sleep(max(0.0, start + (done + 1) * FRAME_SECONDS - time.monotonic()))

    def _write_recording(self) -> None:
        if self.recording_path is None:
            return
        frames = np.concatenate(self._recorded) if self._recorded else np.zeros((0, 2), np.int16)
        write_wav(self.recording_path, frames, self.rate)
        logger.debug("%s recording written to %s (%d frames)", self.uuid, self.recording_path, len(frames))
