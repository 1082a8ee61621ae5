"""mod_audio_stream (amigniter, commit ec2a781) for one simulated channel.

``AudioStreamFork`` is a media bug on a ``ChannelMedia`` plus a WebSocket client. It mirrors the
module's behaviour as observed on FreeSWITCH 1.10.12 (fixtures facts 13-19) and read in its source:

- ``start`` returns at once; the connection is made in a greenlet. On open the start metadata is
  sent as the first text frame, then ``mod_audio_stream::connect`` fires. Frames produced before
  the connection opens are dropped.
- A failed connection fires ``mod_audio_stream::error`` and the stream is gone: later calls
  return False (the API's ``-ERR Operation Failed``).
- A server close fires ``mod_audio_stream::disconnect``; the stream stays attached but sends
  nothing, and ``send_text``/``stop`` still succeed.
- ``stop [text]`` and hangup send the text, then close 1000 "Normal closure", and fire nothing.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from app.sim.media import ChannelMedia
from app.sim.stream_messages import (
    EVENT_CONNECT,
    EVENT_DISCONNECT,
    EVENT_ERROR,
    compact_json,
    handle_server_text,
)
from app.sim.stream_packets import StreamPacketizer, frames_per_packet
from app.sim.wav import Int16Array
from app.sim.ws_client import WsClient, WsState
from app.sim.ws_handshake import extra_headers_from_json

logger = logging.getLogger(__name__)


def switch_true(value: str | None) -> bool:
    """FreeSWITCH's ``switch_true``: yes/on/true/t/enabled/active/allow or a non-zero number."""
    if value is None:
        return False
    text = value.strip().lower()
    if text in ("yes", "on", "true", "t", "enabled", "active", "allow"):
        return True
    try:
        return int(text) != 0
    except ValueError:
        return False


class AudioStreamFork:
    """mod_audio_stream's WebSocket client for one channel (a media bug on ``ChannelMedia``)."""

    def __init__(
        self,
        *,
        uuid: str,
        url: str,
        mix: str,
        rate: int,
        metadata: str | None,
        media: ChannelMedia,
        fire_event: Callable[[str, str], None],
        channel_variables: Mapping[str, str],
        temp_dir: Path | None = None,
    ) -> None:
        self.uuid = uuid
        self.url = url
        self.mix = mix
        self.rate = rate
        self.metadata = metadata
        self.media = media
        self.temp_dir = temp_dir if temp_dir is not None else Path(tempfile.gettempdir())
        self._fire_event = fire_event
        self._packets = StreamPacketizer(
            mix=mix,
            channel_rate=media.rate,
            stream_rate=rate,
            frames_per_packet=frames_per_packet(channel_variables.get("STREAM_BUFFER_SIZE")),
        )
        heart_beat = channel_variables.get("STREAM_HEART_BEAT", "")
        self._client = WsClient(
            url=url,
            log_id=uuid,
            offer_deflate=not switch_true(channel_variables.get("STREAM_MESSAGE_DEFLATE")),
            extra_headers=extra_headers_from_json(channel_variables.get("STREAM_EXTRA_HEADERS")),
            ping_interval=float(heart_beat) if heart_beat.isdigit() and int(heart_beat) > 0 else None,
            on_open=self._on_open,
            on_text=self._on_text,
            on_close=self._on_close,
            on_error=self._on_error,
        )
        self.paused = False
        self.attached = False
        self.files: list[Path] = []
        self.packets_sent = 0

    @property
    def client(self) -> WsClient:
        """The WebSocket connection (for inspection)."""
        return self._client

    @property
    def running(self) -> bool:
        """True while the media bug is attached (what the API commands need)."""
        return self.attached

    def start(self) -> None:
        """Attach the media bug and connect in a greenlet; returns at once."""
        if self.attached:
            return
        self.attached = True
        self.media.add_bug(self)
        self._client.connect()
        logger.info("%s audio stream to %s (%s %d Hz) starting", self.uuid, self.url, self.mix, self.rate)

    def send_text(self, text: str) -> bool:
        """``uuid_audio_stream <uuid> send_text``: False when no stream is attached."""
        if not self.attached:
            return False
        self._client.send_text(text)
        return True

    def stop(self, text: str | None) -> bool:
        """``uuid_audio_stream <uuid> stop [text]``: send ``text``, then close 1000. False if no stream."""
        if not self.attached:
            return False
        self._cleanup(text)
        return True

    def pause(self) -> bool:
        """Stop sending audio frames on the same connection."""
        if not self.attached:
            return False
        self.paused = True
        return True

    def resume(self) -> bool:
        """Send audio frames again after ``pause``."""
        if not self.attached:
            return False
        self.paused = False
        return True

    def on_hangup(self) -> None:
        """The channel hung up: close 1000 "Normal closure", fire nothing."""
        if self.attached:
            self._cleanup(None)

    # media bug -----------------------------------------------------------------------------

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        """Called by the media clock every 20 ms; only queues, never blocks."""
        if self.paused or not self.attached:
            return
        packet = self._packets.feed(read, write)
        if packet is not None and self._client.state is WsState.OPEN and self._client.send_binary(packet):
            self.packets_sent += 1

    def on_media_close(self) -> None:
        """The channel's media stopped (hangup)."""
        self.on_hangup()

    # WebSocket callbacks (run in the client's greenlets) --------------------------------------

    def _on_open(self) -> None:
        if self.metadata:
            self._client.send_text(self.metadata)
        logger.info("%s audio stream connected to %s", self.uuid, self.url)
        self._fire(EVENT_CONNECT, compact_json({"status": "connected"}))

    def _on_text(self, text: str) -> None:
        message = handle_server_text(text, uuid=self.uuid, file_index=len(self.files), temp_dir=self.temp_dir)
        if message.file is not None:
            self.files.append(message.file)
        self._fire(message.subclass, message.body)

    def _on_close(self, code: int, reason: str) -> None:
        logger.info("%s audio stream closed by the server: %d %s", self.uuid, code, reason)
        self._fire(
            EVENT_DISCONNECT,
            compact_json({"status": "disconnected", "message": {"code": code, "reason": reason}}),
        )

    def _on_error(self, code: int, error: str) -> None:
        logger.info("%s audio stream error %d: %s", self.uuid, code, error)
        self._fire(EVENT_ERROR, compact_json({"status": "error", "message": {"code": code, "error": error}}))
        if self.attached:
            self._cleanup(None)

    def _fire(self, subclass: str, body: str) -> None:
        try:
            self._fire_event(subclass, body)
        except Exception:
            logger.exception("%s firing %s failed", self.uuid, subclass)

    def _cleanup(self, text: str | None) -> None:
        """mod_audio_stream's ``stream_session_cleanup``: detach, delete files, send text, close."""
        self.attached = False
        self.media.remove_bug(self)
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()
        if text is not None:
            self._client.send_text(text)
        self._client.clear_callbacks()
        self._client.close(1000, "Normal closure")
        logger.info("%s audio stream to %s stopped", self.uuid, self.url)
