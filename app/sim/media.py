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

from app.sim.wav import Int16Array, load_mono, write_wav

logger = logging.getLogger(__name__)

FRAME_MS = 20
FRAME_SECONDS = FRAME_MS / 1000
# Beyond this backlog (the process was frozen) the clock skips ahead instead of bursting frames.
MAX_CATCH_UP_FRAMES = 50
# switch_ivr_play_file refills its frame buffer with FILE_STARTSAMPLES / 2 samples per file read
# (the handle of the playback app has no pre_buffer), so playback_samples counts read-ahead in these.
FILE_READ_SAMPLES = 16384
# What switch_ivr_play_file writes while SWITCH_FILE_PAUSE is set: memset(abuf, 255, framelen).
PAUSED_SAMPLE = -1
_VOLUME_UP = (1.3, 2.3, 3.3, 4.3)
_VOLUME_DOWN = (0.80, 0.60, 0.40, 0.20)


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
    """One file being played to the caller (what ``uuid_broadcast`` starts): its file handle.

    Each ``next_frame`` is one pass of switch_ivr_play_file's loop: a paused handle writes a frame
    of -1 samples and keeps its place; otherwise a 20 ms frame comes from the loop's audio buffer,
    refilled ``FILE_READ_SAMPLES`` at a time from the file (``samples_in`` counts those reads). The
    ``uuid_fileman`` effects mirror switch_ivr_process_fh: ``toggle_pause``, ``request_done``
    (SWITCH_FILE_DONE: the buffered audio still plays, then the status is ``done``), ``seek`` and
    ``restart`` (the buffer keeps one frame of the old place, as the loop reads it before it sees
    SWITCH_FILE_SEEK), ``volume`` (switch_change_sln_volume on every written frame) and ``speed``
    (kept, but not applied to the audio). A command takes effect from the next frame; real
    FreeSWITCH has usually fetched that frame already, so there it shows 20 ms later. The last
    frame is zero-padded (FreeSWITCH pads it with -1 and leftovers of the previous frame).
    """

    def __init__(
        self, *, uuid: str, path: Path, samples: Int16Array, rate: int, native_rate: int | None = None
    ) -> None:
        self.uuid = uuid
        self.path = path
        self.rate = rate
        self.native_rate = native_rate or rate
        """The file's own rate: ``seek`` positions count in it, as mod_sndfile's do."""
        self.started = gevent.event.Event()
        self.finished = gevent.event.Event()
        self.status = ""
        self.played_samples = 0
        """Samples of the file written to the caller (paused frames do not count)."""
        self.samples_in = 0
        """Samples read from the file so far (fh->samples_in, at the channel rate)."""
        self.offset_pos = 0
        """fh->offset_pos: grows by the samples written, set to the target by a seek."""
        self.start_sample: int | None = None
        """Channel sample offset (since media start) of the first sample played."""
        self.paused = False
        self.volume = 0
        self.speed = 0
        self._samples = samples
        self._file_pos = 0
        self._buffer = np.zeros(0, np.int16)
        self._eof = False
        self._done_flag = False
        self._seek_flag = False
        # The loop's first pass reads the first chunk right after PLAYBACK_START, before any
        # command or tick can come between: it is read here, so a break at once still counts it.
        first = self._read_file()
        if first is None:
            self._eof = True
        else:
            self._buffer = first

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

    # ------------------------------------------------------------------ uuid_fileman
    def toggle_pause(self) -> None:
        """``pause``: toggle SWITCH_FILE_PAUSE."""
        self.paused = not self.paused
        logger.debug("%s playback of %s %s", self.uuid, self.path, "paused" if self.paused else "resumed")

    def request_done(self) -> None:
        """``stop``: set SWITCH_FILE_DONE, which the next file read honours (it reads nothing)."""
        self._done_flag = True

    def seek(self, native_sample: int) -> None:
        """switch_core_file_seek(SEEK_SET) in file samples; past the end, mod_sndfile lands on the last one."""
        total_native = self.total_samples * self.native_rate // self.rate
        target = max(0, native_sample)
        if target > total_native:
            target = max(0, total_native - 1)
        self._file_pos = min(self.total_samples, target * self.rate // self.native_rate)
        self.offset_pos = target
        self._seek_flag = True

    def restart(self) -> None:
        """``restart``: speed back to 0 and seek to the start."""
        self.speed = 0
        self.seek(0)

    # ------------------------------------------------------------------ the play loop
    def next_frame(self, size: int, channel_offset: int) -> Int16Array | None:
        """The next ``size`` samples to play (zero-padded at the end), or None once finished."""
        if self.finished.is_set():
            return None
        if self.start_sample is None:
            self.start_sample = channel_offset
            self.started.set()
        frame = self._fetch(size)
        if frame is None:
            self._finish_done()
            return None
        if self._seek_flag:
            self._buffer = self._buffer[:0]
            self._seek_flag = False
        if self.volume:
            frame = _change_volume(frame, self.volume)
        if self._breaks_before_next_write():
            self._finish_done()
        return frame

    def _fetch(self, size: int) -> Int16Array | None:
        while True:
            if self.paused:
                return np.full(size, PAUSED_SAMPLE, np.int16)
            if self._eof or self._buffer.shape[0] > size:
                if not self._buffer.shape[0]:
                    return None
                return self._take(size)
            chunk = self._read_file()
            if chunk is None:
                self._eof = True
                continue
            self._buffer = np.concatenate([self._buffer, chunk])
            return self._take(size)

    def _take(self, size: int) -> Int16Array:
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        count = int(chunk.shape[0])
        self.offset_pos += count
        self.played_samples += count
        if count < size:
            chunk = np.concatenate([chunk, np.zeros(size - count, np.int16)])
        return chunk

    def _read_file(self) -> Int16Array | None:
        if self._done_flag:
            self._done_flag = False
            return None
        chunk = self._samples[self._file_pos : self._file_pos + FILE_READ_SAMPLES]
        if not chunk.shape[0]:
            return None
        self._file_pos += int(chunk.shape[0])
        self.samples_in += int(chunk.shape[0])
        return chunk

    def _breaks_before_next_write(self) -> bool:
        """Run the loop's next pass as far as it goes without data: True if it ends the playback.

        FreeSWITCH runs that pass right after a write, not at the next tick, so PLAYBACK_STOP
        follows the last frame at once; a pass that would read audio is left to the next tick.
        """
        if self.paused or self._buffer.shape[0]:
            return False
        if not self._eof:
            if not self._done_flag and self._file_pos < self.total_samples:
                return False
            self._done_flag = False
            self._eof = True
        return True

    def _finish_done(self) -> None:
        self.status = "done"
        self.finished.set()


def _change_volume(frame: Int16Array, volume: int) -> Int16Array:
    """switch_change_sln_volume: level -4..4 picks a factor, samples truncate toward zero, saturate."""
    level = max(-4, min(4, volume))
    factor = (_VOLUME_UP if level > 0 else _VOLUME_DOWN)[abs(level) - 1]
    scaled = np.trunc(frame.astype(np.float64) * factor)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


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
        playback = Playback(
            uuid=self.uuid,
            path=path,
            samples=load_mono(path, self.rate),
            rate=self.rate,
            native_rate=_native_rate(path),
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
        if self._echo is not None:
            # the line's echo reaches us mixed into what the caller says, before any tap sees it
            read = self._echo.mix(
                read, write if write is not None else np.zeros(self.frame_samples, np.int16)
            )
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


def _native_rate(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        return int(wav.getframerate())
