"""mod_audio_stream's WebSocket format, without sockets.

The module opens ``ws://host/path`` and sends, in order: the ``start`` metadata as one text frame (ours is
JSON), then binary frames of raw little-endian 16-bit mono PCM at the requested rate (20 ms each unless
``STREAM_BUFFER_SIZE`` groups them). The worker answers with JSON text frames, which FreeSWITCH fires as
``CUSTOM mod_audio_stream::json`` events; text frames are also how the controller talks to the worker
(``uuid_audio_stream <uuid> send_text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from app.domain import CallId, CallType, parse_call_id
from app.media import messages

MAX_FRAME_BYTES = 64 * 1024  # 2 s at 16 kHz: far above any STREAM_BUFFER_SIZE in practice
MAX_TEXT_BYTES = 16 * 1024
MAX_RATE = 48000  # mod_audio_stream resamples to at most 48 kHz (its sampling-rate argument)
# \Z, not $: a '$' would also match before a trailing newline.
_CALL_PATH = re.compile(r"^/call/(?P<uuid>[0-9a-fA-F-]{36})/?(?:\?.*)?\Z")


class WireError(ValueError):
    """The stream broke the format; the message says how."""


@dataclass(frozen=True)
class StreamMetadata:
    """The first text frame: who is calling and how the audio is encoded."""

    uuid: CallId
    call_type: CallType
    rate: int
    direction: str = "inbound"
    caller: str = ""


def call_id_from_path(path: str) -> CallId:
    match = _CALL_PATH.match(path)
    if not match:
        raise WireError(f"expected /call/<uuid>, got {path[:80]!r}")
    try:
        return parse_call_id(match.group("uuid").lower())
    except ValueError as exc:
        raise WireError(str(exc)) from None


def parse_metadata(text: str, path_call_id: CallId) -> StreamMetadata:
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise WireError("metadata frame too large")
    obj = _load_json(text, "metadata")
    uuid = str(obj.get("uuid", path_call_id)).lower()
    if uuid != path_call_id:
        raise WireError(f"metadata uuid {uuid!r} does not match the URL's {path_call_id}")
    raw_type = str(obj.get("call_type", "sip"))
    if raw_type not in {t.value for t in CallType}:
        raise WireError(f"unknown call_type {raw_type!r}")
    rate = obj.get("rate", 16000)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 < rate <= MAX_RATE or rate % 8000:
        raise WireError(f"rate must be a multiple of 8000 up to {MAX_RATE}, got {str(rate)[:20]}")
    return StreamMetadata(
        uuid=path_call_id,
        call_type=CallType(raw_type),
        rate=rate,
        direction=str(obj.get("direction", "inbound")),
        caller=str(obj.get("caller", "")),
    )


def decode_audio(frame: bytes) -> np.ndarray:
    """L16 little-endian mono samples; any whole number of samples is accepted."""
    if len(frame) > MAX_FRAME_BYTES:
        raise WireError(f"audio frame of {len(frame)} bytes is over {MAX_FRAME_BYTES}")
    if len(frame) % 2:
        raise WireError(f"audio frame of {len(frame)} bytes is not whole 16-bit samples")
    return np.frombuffer(frame, dtype="<i2")


def parse_control(text: str) -> dict[str, object]:
    """A text frame from the controller (``send_text``): a JSON object with a ``type``."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise WireError("text frame too large")
    obj = _load_json(text, "text frame")
    if not isinstance(obj.get("type"), str):
        raise WireError("text frame is not a JSON object with a type")
    return obj


def _load_json(text: str, what: str) -> dict[str, object]:
    """A JSON object whose numbers are finite and in range (``messages.read``): json.loads alone takes
    ``Infinity``, ``NaN`` and ``1e999``, and e.g. ``elapsed_ms: Infinity`` would overflow the echo timeline."""
    try:
        return messages.read(text)
    except messages.MessageError as exc:
        raise WireError(f"{what}: {exc}") from None


def encode_message(message: dict[str, object]) -> str:
    """A result for the controller. It becomes an ESL event body verbatim."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
