"""Builders for every command Callbridge sends to FreeSWITCH, from validated values only.

FreeSWITCH splits API arguments on spaces, keeps a single-quoted argument whole and strips single quotes
and backslashes, and a newline ends a command (a blank line ends the message). So nothing that reaches a
command string may hold a newline, and free text is either a checked token or a single-quoted argument
that contains no quote or backslash. Anything else raises :class:`UnsafeValue` before it can be sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Literal

from app.domain import CallId, parse_call_id

StreamMix = Literal["mono", "mixed", "stereo"]
EventFormat = Literal["plain", "json"]

_TOKEN = re.compile(r"^[A-Za-z0-9_.:@+#*/=-]+\Z")
_EVENT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*\Z")
_SUBCLASS = re.compile(r"^[A-Za-z0-9_]+::[A-Za-z0-9_.]+\Z")
_HANGUP_CAUSE = re.compile(r"^[A-Z][A-Z_]*\Z")
_DTMF = re.compile(r"^[0-9A-Da-d*#wW]+\Z")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_APP_NAME = re.compile(r"^[a-z_][a-z0-9_]*\Z")


class UnsafeValue(ValueError):
    """A value would change the meaning of a command (space, newline, quote...)."""


def _no_control(value: str, what: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise UnsafeValue(f"{what} contains a line break or NUL: {value!r}")
    return value


def token(value: str, what: str = "argument") -> str:
    """A bare API argument: no spaces, quotes, backslashes or braces."""
    if not _TOKEN.match(value):
        raise UnsafeValue(f"{what} is not a plain token: {value!r}")
    return value


def quoted(value: str, what: str = "argument") -> str:
    """A single-quoted API argument that FreeSWITCH keeps whole (and strips the quotes from)."""
    _no_control(value, what)
    if "'" in value or "\\" in value:
        raise UnsafeValue(f"{what} contains a quote or backslash: {value!r}")
    return f"'{value}'"


def call_uuid(value: str) -> CallId:
    try:
        return parse_call_id(value)
    except ValueError as exc:
        raise UnsafeValue(str(exc)) from None


def file_path(path: str | PurePosixPath) -> str:
    """An absolute file path as an API argument, quoted only when it has spaces."""
    text = str(path)
    if not text.startswith("/"):
        raise UnsafeValue(f"file path must be absolute: {text!r}")
    if any(c.isspace() for c in text) and not any(c in text for c in "\r\n\0"):
        return quoted(text, "file path")
    return token(text, "file path")


def api_json(payload: Mapping[str, object]) -> str:
    """Compact JSON as one quoted API argument (mod_audio_stream metadata and send_text).

    FreeSWITCH would strip backslashes and quotes, so strings must not need escaping; use
    :func:`plain_text` on free text first.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return quoted(text, "JSON payload")


def plain_text(value: str, limit: int = 400) -> str:
    """Free text made safe for :func:`api_json`: typographic quotes, no backslashes or control chars."""
    cleaned = value.replace('"', "\u201d").replace("'", "\u2019").replace("\\", "/")
    cleaned = "".join(c if c.isprintable() else " " for c in cleaned)
    return cleaned[:limit]


def hangup_cause(cause: str) -> str:
    if not _HANGUP_CAUSE.match(cause):
        raise UnsafeValue(f"not a hangup cause: {cause!r}")
    return cause


# --- connection-level commands -------------------------------------------------------------------


def auth(password: str) -> str:
    _no_control(password, "ESL password")
    if not password or any(c.isspace() for c in password):
        raise UnsafeValue("ESL password must be non-empty and contain no spaces")
    return f"auth {password}"


def subscribe(events: Iterable[str], custom: Iterable[str] = (), fmt: EventFormat = "plain") -> str:
    """``event <fmt> NAMES... [CUSTOM subclasses...]`` with CUSTOM last.

    Every token after CUSTOM is read as a subclass, so a name placed after it would silently subscribe
    to nothing while FreeSWITCH still replies +OK.
    """
    names = [name for name in events if name != "CUSTOM"]
    for name in names:
        if not _EVENT_NAME.match(name):
            raise UnsafeValue(f"not an event name: {name!r}")
    subclasses = list(custom)
    for sub in subclasses:
        if not _SUBCLASS.match(sub):
            raise UnsafeValue(f"not an event subclass: {sub!r}")
    parts = ["event", fmt, *names]
    if subclasses:
        parts += ["CUSTOM", *subclasses]
    if len(parts) == 2:
        raise UnsafeValue("subscribe to at least one event")
    return " ".join(parts)


def linger(seconds: int | None = None) -> str:
    return "linger" if seconds is None else f"linger {int(seconds)}"


def api(command: str) -> str:
    return f"api {_no_control(command, 'api command')}"


def bgapi(command: str) -> str:
    return f"bgapi {_no_control(command, 'bgapi command')}"


# --- sendmsg (outbound socket, this channel) -------------------------------------------------------


def execute(app: str, arg: str | None = None, *, event_lock: bool = False) -> tuple[str, dict[str, str]]:
    """``sendmsg`` headers that execute a dialplan application on the socket's channel."""
    if not _APP_NAME.match(app):
        raise UnsafeValue(f"not an application name: {app!r}")
    headers = {"call-command": "execute", "execute-app-name": app}
    if arg is not None:
        headers["execute-app-arg"] = _no_control(arg, "application argument")
    if event_lock:
        headers["event-lock"] = "true"
    return "sendmsg", headers


def hangup_message(cause: str = "NORMAL_CLEARING") -> tuple[str, dict[str, str]]:
    return "sendmsg", {"call-command": "hangup", "hangup-cause": hangup_cause(cause)}


# --- API commands ----------------------------------------------------------------------------------


def uuid_broadcast(uuid: str, path: str | PurePosixPath, leg: str = "aleg") -> str:
    if leg not in ("aleg", "bleg", "both"):
        raise UnsafeValue(f"not a leg: {leg!r}")
    return f"uuid_broadcast {call_uuid(uuid)} {file_path(path)} {leg}"


def uuid_break(uuid: str, all_queued: bool = True) -> str:
    return f"uuid_break {call_uuid(uuid)}" + (" all" if all_queued else "")


_FILEMAN = re.compile(r"^(pause|stop|truncate|restart|(seek|speed|volume):[+-]?\d+)\Z")


def uuid_fileman(uuid: str, command: str) -> str:
    """``uuid_fileman <uuid> <cmd>`` on the file playing: ``pause`` toggles pause; also ``stop``,
    ``restart``, ``truncate``, ``seek:[+-]ms``, ``speed:[+-]n``, ``volume:[+-]n``."""
    if not _FILEMAN.match(command):
        raise UnsafeValue(f"not a uuid_fileman command: {command!r}")
    return f"uuid_fileman {call_uuid(uuid)} {command}"


def uuid_kill(uuid: str, cause: str = "NORMAL_CLEARING") -> str:
    return f"uuid_kill {call_uuid(uuid)} {hangup_cause(cause)}"


def uuid_getvar(uuid: str, name: str) -> str:
    if not _VAR_NAME.match(name):
        raise UnsafeValue(f"not a variable name: {name!r}")
    return f"uuid_getvar {call_uuid(uuid)} {name}"


def uuid_setvar(uuid: str, name: str, value: str) -> str:
    if not _VAR_NAME.match(name):
        raise UnsafeValue(f"not a variable name: {name!r}")
    return f"uuid_setvar {call_uuid(uuid)} {name} {token(value, 'variable value')}"


def uuid_transfer(uuid: str, destination: str, dialplan: str = "XML", context: str = "default") -> str:
    return (
        f"uuid_transfer {call_uuid(uuid)} {token(destination, 'destination')} "
        f"{token(dialplan, 'dialplan')} {token(context, 'context')}"
    )


def uuid_transfer_bridge(uuid: str, endpoint: str) -> str:
    """Move the call to an inline ``bridge`` to ``endpoint`` (e.g. ``sofia/external/agent@pbx``)."""
    return f"uuid_transfer {call_uuid(uuid)} {quoted('bridge:' + token(endpoint, 'endpoint'))} inline"


def uuid_send_dtmf(uuid: str, digits: str) -> str:
    if not _DTMF.match(digits):
        raise UnsafeValue(f"not DTMF digits: {digits!r}")
    return f"uuid_send_dtmf {call_uuid(uuid)} {digits}"


def audio_stream_start(
    uuid: str,
    url: str,
    mix: StreamMix = "mono",
    rate: int = 16000,
    metadata: Mapping[str, object] | None = None,
) -> str:
    """``uuid_audio_stream <uuid> start <url> <mix> <rate> [metadata]`` (mod_audio_stream)."""
    if not url.startswith(("ws://", "wss://")):
        raise UnsafeValue(f"audio stream URL must be ws:// or wss://: {url!r}")
    if mix not in ("mono", "mixed", "stereo"):
        raise UnsafeValue(f"not a stream mix: {mix!r}")
    rate_arg = {8000: "8k", 16000: "16k"}.get(rate)
    if rate_arg is None:
        if rate <= 0 or rate % 8000:
            raise UnsafeValue(f"stream rate must be a multiple of 8000: {rate}")
        rate_arg = str(rate)
    parts = ["uuid_audio_stream", call_uuid(uuid), "start", token(url, "stream URL"), mix, rate_arg]
    if metadata is not None:
        parts.append(api_json(metadata))
    return " ".join(parts)


def audio_stream_send_text(uuid: str, payload: Mapping[str, object]) -> str:
    return f"uuid_audio_stream {call_uuid(uuid)} send_text {api_json(payload)}"


def audio_stream_stop(uuid: str, payload: Mapping[str, object] | None = None) -> str:
    tail = f" {api_json(payload)}" if payload is not None else ""
    return f"uuid_audio_stream {call_uuid(uuid)} stop{tail}"


# --- originate ---------------------------------------------------------------------------------------


def channel_variables(variables: Mapping[str, object]) -> str:
    """``{name=value,...}`` for originate; values with spaces are single-quoted."""
    items = []
    for name, raw in variables.items():
        if not _VAR_NAME.match(name):
            raise UnsafeValue(f"not a variable name: {name!r}")
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        _no_control(value, f"variable {name}")
        if any(c in value for c in ",{}[]'\\^"):
            raise UnsafeValue(f"variable {name} has a character originate cannot carry: {value!r}")
        items.append(f"{name}={quoted(value) if ' ' in value else value}")
    return "{" + ",".join(items) + "}"


def originate(variables: Mapping[str, object], endpoints: Sequence[str], application: str) -> str:
    """``originate {vars}ep1|ep2 <application>``: ``|`` tries the endpoints one after the other.

    ``application`` is ``&app(args)`` (:func:`socket_application`) or ``<exten> XML <context>``
    (:func:`dialplan_extension`)."""
    if not endpoints:
        raise UnsafeValue("originate needs at least one endpoint")
    dial = "|".join(token(ep, "endpoint") for ep in endpoints)
    return f"originate {channel_variables(variables)}{dial} {_no_control(application, 'application')}"


def dialplan_extension(extension: str, context: str) -> str:
    """``<exten> XML <context>``: the answered leg runs that extension of the XML dialplan."""
    return f"{token(extension, 'extension')} XML {token(context, 'context')}"


def socket_application(host: str, port: int, mode: str = "async full") -> str:
    if mode not in ("async full", "async", "full", ""):
        raise UnsafeValue(f"not a socket mode: {mode!r}")
    target = f"{token(host, 'host')}:{int(port)}"
    # originate splits its arguments on spaces; the quotes keep the application whole and are stripped.
    return f"'&socket({target} {mode})'" if mode else f"&socket({target})"
