"""What mod_audio_stream's media bug makes of each 20 ms frame: L16 packets for the WebSocket.

- ``mono``: the caller's audio, every frame.
- ``mixed``: caller + what is played to the caller, summed with saturation; nothing while nothing
  plays (a FreeSWITCH bug reading both directions gets no frame while the write side is empty).
- ``stereo``: interleaved, left = caller, right = what is played; nothing while nothing plays.

Frames are resampled from the channel rate to the stream rate and grouped into packets of
``STREAM_BUFFER_SIZE / 20`` frames.
"""

from __future__ import annotations

import numpy as np

from app.sim.resample import StreamResampler
from app.sim.wav import Int16Array
from app.sim.wire import atoi

MIX_TYPES = ("mono", "mixed", "stereo")


def frames_per_packet(buffer_size: str | None) -> int:
    """``STREAM_BUFFER_SIZE`` (ms) as a frame count: a multiple of 20 of at least 20, else 1."""
    if buffer_size is None:
        return 1
    milliseconds = atoi(buffer_size)
    if milliseconds % 20 != 0 or milliseconds < 20:
        return 1
    return milliseconds // 20


class StreamPacketizer:
    """Turns (read, write) frame pairs into the binary payloads mod_audio_stream sends."""

    def __init__(self, *, mix: str, channel_rate: int, stream_rate: int, frames_per_packet: int = 1) -> None:
        if mix not in MIX_TYPES:
            raise ValueError(f"invalid mix type {mix!r}")
        self.mix = mix
        self.channel_rate = channel_rate
        self.stream_rate = stream_rate
        self.frames_per_packet = frames_per_packet
        self.channels = 2 if mix == "stereo" else 1
        self._resampler = (
            StreamResampler(channel_rate, stream_rate, self.channels) if channel_rate != stream_rate else None
        )
        self._group: list[bytes] = []

    def feed(self, read: Int16Array, write: Int16Array | None) -> bytes | None:
        """One 20 ms frame pair in; a complete packet out, or None (nothing due yet)."""
        frame = self._combine(read, write)
        if frame is None:
            return None
        if self._resampler is not None:
            frame = self._resampler.process(frame)
        self._group.append(np.ascontiguousarray(frame, dtype="<i2").tobytes())
        if len(self._group) < self.frames_per_packet:
            return None
        packet = b"".join(self._group)
        self._group.clear()
        return packet

    def _combine(self, read: Int16Array, write: Int16Array | None) -> Int16Array | None:
        if self.mix == "mono":
            return read
        if write is None:
            return None
        if self.mix == "mixed":
            summed = read.astype(np.int32) + write.astype(np.int32)
            return np.clip(summed, -32768, 32767).astype(np.int16)
        return np.stack([read, write], axis=1)
