"""One file played to a caller, as FreeSWITCH's switch_ivr_play_file plays it, and the ``uuid_fileman``
commands on it (switch_ivr_process_fh). ``ChannelMedia`` pulls one frame at a time from it."""

from __future__ import annotations

import logging
import re
import wave
from pathlib import Path

import gevent.event
import numpy as np

from app.sim.wav import Int16Array

logger = logging.getLogger(__name__)

# switch_ivr_play_file refills its frame buffer with FILE_STARTSAMPLES / 2 samples per file read
# (the handle of the playback app has no pre_buffer), so playback_samples counts read-ahead in these.
FILE_READ_SAMPLES = 16384
# What switch_ivr_play_file writes while SWITCH_FILE_PAUSE is set: memset(abuf, 255, framelen).
PAUSED_SAMPLE = -1
_VOLUME_UP = (1.3, 2.3, 3.3, 4.3)
_VOLUME_DOWN = (0.80, 0.60, 0.40, 0.20)


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


def process_fh(playback: Playback, cmd: str) -> bool:
    """switch_ivr_process_fh on a playing file; True where FreeSWITCH returns SWITCH_STATUS_SUCCESS.

    ``speed``/``volume``/``seek`` match as prefixes and ``pause``/``stop``/``truncate``/``restart``
    whole, all case-insensitive, in FreeSWITCH's order. ``speed:<n>``/``speed:+<n>``/``speed:-<n>``
    only sets the handle's speed (no audible effect here); ``volume:...`` likewise sets the level
    that scales every written frame; ``pause`` toggles; ``stop`` sets SWITCH_FILE_DONE; ``truncate``
    does nothing to a file opened for reading; ``restart`` seeks to 0; ``seek:<ms>`` is absolute,
    ``seek:+<ms>``/``seek:-<ms>`` relative to ``offset_pos`` (a step of 0 means 1000 ms), in file
    samples of ``ms * (native_rate / 1000)``.
    """
    if not cmd:
        return True
    lowered = cmd.lower()
    _, colon, value = cmd.partition(":")
    if lowered.startswith("speed"):
        if not colon:
            return False
        playback.speed = _stepped(playback.speed, value, 1)
        return True
    if lowered.startswith("volume"):
        if not colon:
            playback.volume = max(-4, min(4, playback.volume))
            return False
        playback.volume = _stepped(playback.volume, value, 1)
        return True
    if lowered == "pause":
        playback.toggle_pause()
        return True
    if lowered == "stop":
        playback.request_done()
        return False
    if lowered == "restart":
        playback.restart()
        return True
    if lowered.startswith("seek"):
        if colon:
            per_ms = playback.native_rate // 1000
            if value[:1] in ("+", "-"):
                step = _c_atoi(value) or 1000
                target = _int32(playback.offset_pos + _uint32(step * per_ms))
                playback.seek(max(0, target))
            else:
                playback.seek(_uint32(max(0, _c_atoi(value)) * per_ms))
        return True
    return cmd in ("true", "undefined")


def _stepped(current: int, value: str, default_step: int) -> int:
    """``+n``/``-n`` add to ``current`` (0 counts as ``default_step``); a plain number replaces it."""
    if value[:1] in ("+", "-"):
        return current + (_c_atoi(value) or default_step)
    return _c_atoi(value)


def _c_atoi(text: str) -> int:
    """C ``atoi``: leading whitespace, an optional sign, then digits; 0 when there are none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def _uint32(value: int) -> int:
    return value & 0xFFFFFFFF


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def native_rate_of(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        return int(wav.getframerate())
