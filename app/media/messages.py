"""The worker's result messages (JSON text frames that FreeSWITCH fires as ``mod_audio_stream::json``).

One schema, used to build the messages here and to check them wherever they are read (tests on the worker
and the controller side). All times are milliseconds of call audio since the stream started, except
``stt_ms`` (wall-clock time from the end decision to the text). See docs/worker-messages.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

Message = dict[str, object]
MAX_NUMBER = 1e15
"""No time, count or score of ours comes near this (audio ms of a 30-year call); beyond it, a number is
garbage that would turn into inf in float arithmetic (or be refused by the call log's JSON)."""


class MessageError(ValueError):
    """A message does not follow the schema; the text says which field is wrong."""


_NUMBER = (int, float)
# type -> {field: (accepted types, required)}
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "speech_onset": {"start_ms": (_NUMBER, True)},
    "speech_cancelled": {"start_ms": (_NUMBER, True)},
    "speech_started": {"start_ms": (_NUMBER, True)},
    "hypothesis": {"text": ((str,), True), "start_ms": (_NUMBER, True), "end_ms": (_NUMBER, True)},
    "partial": {"text": ((str,), True), "start_ms": (_NUMBER, True)},
    "speech_stopped": {
        "start_ms": (_NUMBER, True),
        "end_ms": (_NUMBER, True),
        "decided_ms": (_NUMBER, True),
        "reason": ((str,), True),
    },
    "utterance": {
        "text": ((str,), True),
        "confidence": (_NUMBER, True),
        "start_ms": (_NUMBER, True),
        "end_ms": (_NUMBER, True),
        "decided_ms": (_NUMBER, True),
        "stt_ms": (_NUMBER, True),
        "engine": ((str,), True),
        "reason": ((str,), True),
        "speculative": ((bool,), False),
    },
    "stt_rejected": {
        "reason": ((str,), True),
        "chars": ((int,), True),
        "start_ms": (_NUMBER, True),
        "end_ms": (_NUMBER, True),
        "engine": ((str,), True),
    },
}
REASONS = ("silence", "max_length", "stream_end")
# Why the engine withheld a decode (app/stt/checks.runaway_reason).
REJECTIONS = ("loop", "repeated", "too_many_words")


def read(text: str) -> Message:
    """Parse a message as the controller receives it (the body of a ``mod_audio_stream::json`` event).

    Returns a JSON object whose numbers are all finite and within ``MAX_NUMBER``, without checking it
    against :data:`SCHEMA` (see :func:`validate`); anything else raises :class:`MessageError`. Python's
    own ``json.loads`` accepts ``NaN``, ``Infinity`` and ``1e999`` (inf), and recurses once per nesting
    level, so a hostile or broken sender could otherwise crash the call's arithmetic or its reader.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except ValueError as exc:
        raise MessageError(f"bad JSON: {exc}") from None
    except RecursionError:
        raise MessageError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise MessageError(f"not a JSON object: {text[:80]!r}")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number we send")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"number {text[:40]} out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 16:  # before int(): a 5000-digit literal is slow to convert and refused
        raise ValueError(f"number {text[:40]}... out of range")
    value = int(text)
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"number {text} out of range")
    return value


def validate(message: Mapping[str, object]) -> None:
    """Raise :class:`MessageError` unless ``message`` is one of the worker's messages, well formed."""
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in SCHEMA:
        raise MessageError(f"unknown message type {kind!r}")
    fields = SCHEMA[kind]
    for name, value in message.items():
        if name == "type":
            continue
        if name not in fields:
            raise MessageError(f"{kind}: unexpected field {name!r}")
        types, _required = fields[name]
        if isinstance(value, bool) and bool not in types:
            raise MessageError(f"{kind}.{name}: expected {types}, got a bool")
        if not isinstance(value, types):
            raise MessageError(f"{kind}.{name}: expected {types}, got {type(value).__name__}")
    for name, (_types, required) in fields.items():
        if required and name not in message:
            raise MessageError(f"{kind}: missing {name!r}")
    if kind == "stt_rejected":
        if message.get("reason") not in REJECTIONS:
            raise MessageError(f"stt_rejected.reason: {message.get('reason')!r} is not one of {REJECTIONS}")
    elif "reason" in fields and message.get("reason") not in REASONS:
        raise MessageError(f"{kind}.reason: {message.get('reason')!r} is not one of {REASONS}")
    if kind == "utterance" and not 0.0 <= float(message["confidence"]) <= 1.0:  # type: ignore[arg-type]
        raise MessageError("utterance.confidence must be within [0, 1]")


def _ms(value: float) -> float:
    return round(value, 1)


def speech_onset(start_ms: float) -> Message:
    return {"type": "speech_onset", "start_ms": _ms(start_ms)}


def speech_cancelled(start_ms: float) -> Message:
    return {"type": "speech_cancelled", "start_ms": _ms(start_ms)}


def hypothesis(text: str, start_ms: float, end_ms: float) -> Message:
    return {"type": "hypothesis", "text": text, "start_ms": _ms(start_ms), "end_ms": _ms(end_ms)}


def speech_started(start_ms: float) -> Message:
    return {"type": "speech_started", "start_ms": _ms(start_ms)}


def partial(text: str, start_ms: float) -> Message:
    return {"type": "partial", "text": text, "start_ms": _ms(start_ms)}


def speech_stopped(
    start_ms: float, end_ms: float, decided_ms: float, reason: str, turn: dict[str, object] | None = None
) -> Message:
    message: Message = {
        "type": "speech_stopped",
        "start_ms": _ms(start_ms),
        "end_ms": _ms(end_ms),
        "decided_ms": _ms(decided_ms),
        "reason": reason,
    }
    if turn is not None:
        message["turn"] = turn
    return message


def utterance(
    *,
    text: str,
    confidence: float,
    start_ms: float,
    end_ms: float,
    decided_ms: float,
    stt_ms: float,
    engine: str,
    reason: str,
    speculative: bool = False,
    turn: dict[str, object] | None = None,
) -> Message:
    """The final text. ``turn``: the end-of-turn decision, flattened to ``turn_silence_ms``/``turn_why``/
    ``turn_probability`` so the call log keeps it with the turn's timings."""
    flat = {f"turn_{key}": value for key, value in (turn or {}).items()}
    return {
        "type": "utterance",
        "text": text,
        "confidence": round(min(1.0, max(0.0, confidence)), 3),
        "start_ms": _ms(start_ms),
        "end_ms": _ms(end_ms),
        "decided_ms": _ms(decided_ms),
        "stt_ms": _ms(stt_ms),
        "engine": engine,
        "reason": reason,
        "speculative": speculative,
        **flat,
    }


def stt_rejected(*, reason: str, chars: int, start_ms: float, end_ms: float, engine: str) -> Message:
    """The engine dropped an utterance's text as a runaway decode (a loop): no words reach the brain."""
    return {
        "type": "stt_rejected",
        "reason": reason,
        "chars": chars,
        "start_ms": _ms(start_ms),
        "end_ms": _ms(end_ms),
        "engine": engine,
    }
