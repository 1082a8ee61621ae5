"""Real WebRTC media for the stand-in's Verto endpoint, through aiortc.

aiortc runs on asyncio; the stand-in runs on gevent. :class:`RtcLoop` keeps one asyncio loop in a native
thread and lets greenlets wait for its coroutines without blocking the gevent hub. Audio crosses between
the two through deques that one side only appends to and the other only pops from:

- the browser's Opus audio, decoded by aiortc, is resampled to the channel rate and buffered in
  :class:`BrowserAudio`, which the channel's media clock reads as its caller audio (so it reaches
  ``uuid_audio_stream`` like any caller's);
- what the channel plays (``uuid_broadcast``) is tapped by a media bug into :class:`AgentAudioTrack`,
  which aiortc paces out at 20 ms and encodes to Opus for the browser.

The stand-in gathers loopback ICE candidates only: calls never leave 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any, TypeVar

import aioice.ice
import av
import gevent
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.sim.wav import Int16Array

logger = logging.getLogger(__name__)

T = TypeVar("T")

FRAME_MS = 20
# Browser audio buffered before the channel starts reading it (absorbs network jitter).
JITTER_FRAMES = 3
# Beyond this much queued audio the oldest frames are dropped (keeps the latency bounded).
MAX_QUEUED_FRAMES = 25


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


class RtcLoop:
    """An asyncio loop in a native thread for aiortc; greenlets call into it with :meth:`run`."""

    def __init__(self) -> None:
        # The stand-in offers loopback host candidates only (aioice skips 127.0.0.1 by default).
        setattr(aioice.ice, "get_host_addresses", _loopback_addresses)  # noqa: B010 - a module function
        self.loop = asyncio.new_event_loop()
        self._thread = gevent.get_hub().threadpool.spawn(self._run_forever)

    def _run_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop; the calling greenlet waits, other greenlets keep running."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        waiter = gevent.get_hub().threadpool.spawn(future.result, timeout)
        return waiter.get()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the loop and its thread."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.wait(timeout=5)


class BrowserAudio:
    """The browser's audio at the channel rate: a caller-audio source for ``ChannelMedia``."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.frame_samples = rate * FRAME_MS // 1000
        self.received_samples = 0
        self._chunks: deque[Int16Array] = deque()
        self._queued = 0
        self._carry: Int16Array = np.zeros(0, np.int16)
        self._primed = False

    def push(self, samples: Int16Array) -> None:
        """Decoded browser audio arrives (aiortc's thread)."""
        self._chunks.append(samples)
        self._queued += int(samples.shape[0])
        self.received_samples += int(samples.shape[0])
        while self._queued > MAX_QUEUED_FRAMES * self.frame_samples and len(self._chunks) > 1:
            self._queued -= int(self._chunks.popleft().shape[0])

    def read_frame(self, size: int) -> Int16Array:
        """The next ``size`` samples of caller audio (silence while the buffer refills)."""
        if not self._primed and self._queued + self._carry.shape[0] < JITTER_FRAMES * size:
            return np.zeros(size, np.int16)
        self._primed = True
        parts = [self._carry]
        have = int(self._carry.shape[0])
        while have < size and self._chunks:
            chunk = self._chunks.popleft()
            self._queued -= int(chunk.shape[0])
            parts.append(chunk)
            have += int(chunk.shape[0])
        joined = np.concatenate(parts)
        if have < size:
            self._primed = False
            self._carry = np.zeros(0, np.int16)
            return np.concatenate([joined, np.zeros(size - have, np.int16)])
        self._carry = joined[size:]
        return joined[:size]


class AgentAudioTrack(MediaStreamTrack):
    """What the channel plays to the caller, as an aiortc audio track paced at 20 ms."""

    kind = "audio"

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.frame_samples = rate * FRAME_MS // 1000
        self.sent_audible_frames = 0
        self._frames: deque[Int16Array] = deque()
        self._started_at: float | None = None
        self._pts = 0

    def push(self, samples: Int16Array) -> None:
        """One frame played on the channel (gevent's media clock)."""
        self._frames.append(samples)
        while len(self._frames) > MAX_QUEUED_FRAMES:
            self._frames.popleft()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._started_at is None:
            self._started_at = time.monotonic()
        else:
            wait = self._started_at + self._pts / self.rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        samples = self._frames.popleft() if self._frames else np.zeros(self.frame_samples, np.int16)
        if samples.shape[0] != self.frame_samples:
            samples = np.resize(samples, self.frame_samples)
        if np.abs(samples).max(initial=0) > 0:
            self.sent_audible_frames += 1
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.rate)
        self._pts += self.frame_samples
        return frame


class AgentAudioTap:
    """A ``ChannelMedia`` media bug feeding the played audio to :class:`AgentAudioTrack`."""

    def __init__(self, track: AgentAudioTrack) -> None:
        self.track = track

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        if write is not None:
            self.track.push(write)

    def on_media_close(self) -> None:
        self.track.push(np.zeros(self.track.frame_samples, np.int16))


class RtcPeer:
    """One browser call's peer connection: answers the browser's offer, bridges the audio both ways."""

    def __init__(self, loop: RtcLoop, uuid: str, rate: int) -> None:
        self.loop = loop
        self.uuid = uuid
        self.browser_audio = BrowserAudio(rate)
        self.agent_track = AgentAudioTrack(rate)
        self._pc: RTCPeerConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    def answer(self, offer_sdp: str, timeout: float = 10.0) -> str:
        """The answer SDP for the browser's offer (ICE gathered, DTLS ready to start)."""
        return self.loop.run(self._answer(offer_sdp), timeout)

    def close(self) -> None:
        """Close the peer connection (DTLS close, track ended)."""
        if self._pc is not None:
            try:
                self.loop.run(self._close(), timeout=5)
            except Exception:
                logger.exception("%s closing the peer connection failed", self.uuid)

    async def _answer(self, offer_sdp: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and self._reader is None:
                self._reader = asyncio.ensure_future(self._read_browser(track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            logger.info("%s WebRTC connection %s", self.uuid, pc.connectionState)

        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=without_audio_levels(offer_sdp), type="offer")
        )
        pc.addTrack(self.agent_track)
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def _read_browser(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=self.browser_audio.rate)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                logger.info("%s browser audio ended", self.uuid)
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for out in resampler.resample(frame):
                self.browser_audio.push(out.to_ndarray().reshape(-1).astype(np.int16))

    async def _close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._pc is not None:
            await self._pc.close()


AUDIO_LEVEL_EXTENSION = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def without_audio_levels(sdp: str) -> str:
    """The offer without the RTP audio-level header extension (RFC 6464), which mod_verto never accepts.

    FreeSWITCH 1.10.12's answer to Chromium has no ``a=extmap`` at all (tests/realswitch/test_verto.py), so
    the browser gets no per-packet audio levels from it; aiortc would negotiate and send them. Left out
    here, the page has to tell the agent is speaking the way it must with the real switch.
    """
    lines = sdp.split("\r\n")
    return "\r\n".join(line for line in lines if not _is_audio_level_extension(line))


def _is_audio_level_extension(line: str) -> bool:
    return line.startswith("a=extmap:") and AUDIO_LEVEL_EXTENSION in line
