"""What mod_audio_stream does with a text frame from the WebSocket server.

A ``{"type":"streamAudio","data":{...,"audioData":"<base64>"}}`` message has its audio written to
``<temp dir>/<uuid>_<n>.tmp<ext>`` and becomes a ``mod_audio_stream::play`` event whose body is
``data`` without ``audioData`` and with ``file`` added. Anything else, including a streamAudio
message the module cannot use, becomes ``mod_audio_stream::json`` with the text verbatim.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EVENT_JSON = "mod_audio_stream::json"
EVENT_PLAY = "mod_audio_stream::play"
EVENT_CONNECT = "mod_audio_stream::connect"
EVENT_DISCONNECT = "mod_audio_stream::disconnect"
EVENT_ERROR = "mod_audio_stream::error"

RAW_EXTENSIONS = {8000: ".r8", 16000: ".r16", 24000: ".r24", 32000: ".r32", 48000: ".r48", 64000: ".r64"}
TYPED_EXTENSIONS = {"wav": ".wav", "mp3": ".mp3", "ogg": ".ogg", "pcmu": ".pcmu", "pcma": ".pcma"}


@dataclass(frozen=True)
class ServerMessage:
    """The event a server text frame turns into."""

    subclass: str
    body: str
    file: Path | None = None


def compact_json(value: Any) -> str:
    """JSON without spaces, integral floats written as integers (like cJSON_PrintUnformatted)."""
    return json.dumps(_integral_floats_as_ints(value), separators=(",", ":"), ensure_ascii=False)


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def _audio_extension(data: dict[str, Any]) -> str:
    kind = data.get("audioDataType")
    kind = kind if isinstance(kind, str) else ""
    if kind == "raw":
        rate = data.get("sampleRate", 0)
        finite = isinstance(rate, int) or (isinstance(rate, float) and math.isfinite(rate))
        rate = int(rate) if finite and not isinstance(rate, bool) else 0  # int(inf) would raise
        if rate not in RAW_EXTENSIONS:
            raise ValueError(f"unsupported sample rate: {rate}")
        return RAW_EXTENSIONS[rate]
    if kind not in TYPED_EXTENSIONS:
        raise ValueError(f"unsupported audio type: {kind}")
    return TYPED_EXTENSIONS[kind]


def handle_server_text(text: str, *, uuid: str, file_index: int, temp_dir: Path) -> ServerMessage:
    """Turn one server text frame into its event; writes the audio file of a streamAudio message."""
    try:
        root = json.loads(text)
    except (ValueError, RecursionError):  # cJSON gives up past 1000 levels; json.loads recurses
        return ServerMessage(EVENT_JSON, text)
    if not isinstance(root, dict) or root.get("type") != "streamAudio":
        return ServerMessage(EVENT_JSON, text)
    data = root.get("data")
    try:
        if not isinstance(data, dict):
            raise ValueError("no data in streamAudio")
        audio = data.pop("audioData", None)
        if not isinstance(audio, str):
            raise ValueError("streamAudio 'audioData' missing or not a base64 string")
        extension = _audio_extension(data)
        decoded = base64.b64decode(audio)
    except (ValueError, binascii.Error) as error:
        logger.error("%s processMessage - %s", uuid, error)
        return ServerMessage(EVENT_JSON, text)
    path = temp_dir / f"{uuid}_{file_index}.tmp{extension}"
    path.write_bytes(decoded)
    data["file"] = str(path)
    return ServerMessage(EVENT_PLAY, compact_json(data), path)
