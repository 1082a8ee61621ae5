"""The Event Socket wire format of FreeSWITCH 1.10, as pure functions and a byte-fed reader.

A message is ``Name: value`` header lines, a blank line, then ``Content-Length`` bytes of body. Events come
as ``text/event-plain`` (the body is the event: URL-encoded headers, a blank line, and the event's own body
when it has one) or ``text/event-json`` (one JSON object, body in ``_body``). The outbound ``connect`` reply
is a ``command/reply`` whose headers are the whole channel, URL-encoded, with no body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_HEADER_BYTES = 256 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024

CONTENT_AUTH_REQUEST = "auth/request"
CONTENT_COMMAND_REPLY = "command/reply"
CONTENT_API_RESPONSE = "api/response"
CONTENT_EVENT_PLAIN = "text/event-plain"
CONTENT_EVENT_JSON = "text/event-json"
CONTENT_DISCONNECT = "text/disconnect-notice"
CONTENT_RUDE_REJECTION = "text/rude-rejection"


class ProtocolError(ValueError):
    """The peer sent bytes that are not an ESL message; the connection cannot be trusted any more."""


@dataclass(frozen=True)
class EslMessage:
    """One framed message: its envelope headers (as sent) and raw body."""

    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str:
        return unquote(self.headers.get("Reply-Text", ""))

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def is_event(self) -> bool:
        return self.content_type in (CONTENT_EVENT_PLAIN, CONTENT_EVENT_JSON)

    @property
    def is_reply(self) -> bool:
        return self.content_type in (CONTENT_COMMAND_REPLY, CONTENT_API_RESPONSE)


@dataclass(frozen=True)
class Event:
    """A FreeSWITCH event with decoded header values and its body (e.g. the JSON a CUSTOM event carries)."""

    headers: Mapping[str, str]
    body: str = ""
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.headers.get("Event-Name", "")

    @property
    def subclass(self) -> str:
        return self.headers.get("Event-Subclass", "")

    @property
    def unique_id(self) -> str:
        return self.headers.get("Unique-ID", "")

    def variable(self, name: str) -> str | None:
        return self.headers.get(f"variable_{name}")

    def get(self, header: str, default: str | None = None) -> str | None:
        return self.headers.get(header, default)


class MessageReader:
    """Turns a byte stream into :class:`EslMessage` objects; feed it whatever the socket returned."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending_headers: dict[str, str] | None = None
        self._pending_length = 0

    def feed(self, data: bytes) -> Iterator[EslMessage]:
        """Add ``data`` and yield every message it completes. Raises :class:`ProtocolError` on garbage."""
        self._buffer.extend(data)
        while True:
            message = self._next_message()
            if message is None:
                return
            yield message

    def _next_message(self) -> EslMessage | None:
        if self._pending_headers is None:
            # A stray blank line between messages is harmless; FreeSWITCH never sends one, proxies might.
            while self._buffer[:1] == b"\n":
                del self._buffer[:1]
            end = self._buffer.find(b"\n\n")
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    raise ProtocolError(f"no end of headers within {MAX_HEADER_BYTES} bytes")
                return None
            block = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            self._pending_headers = parse_header_block(block)
            self._pending_length = _content_length(self._pending_headers)
        if len(self._buffer) < self._pending_length:
            return None
        body = bytes(self._buffer[: self._pending_length])
        del self._buffer[: self._pending_length]
        headers, self._pending_headers = self._pending_headers, None
        return EslMessage(headers=headers, body=body)


def parse_header_block(block: bytes) -> dict[str, str]:
    """Parse ``Name: value`` lines (values left as sent). Raises :class:`ProtocolError` on a bad line."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"headers are not UTF-8: {block[:60]!r}") from exc
    headers: dict[str, str] = {}
    for raw_line in text.split("\n"):
        line = raw_line.rstrip("\r")
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or any(c.isspace() for c in name):
            raise ProtocolError(f"not an ESL header line: {line[:80]!r}")
        headers[name] = value[1:] if value.startswith(" ") else value
    return headers


def _content_length(headers: Mapping[str, str]) -> int:
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses, and a length of thousands of
    # digits would hit int()'s own limit; anything longer than MAX_BODY_BYTES's digits is too long anyway.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_BODY_BYTES)):
        raise ProtocolError(f"bad Content-Length: {raw[:40]!r}")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise ProtocolError(f"Content-Length {length} is over {MAX_BODY_BYTES}")
    return length


def decode_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """URL-decode every header value, as FreeSWITCH encodes them in events and the connect reply."""
    return {name: unquote(value) for name, value in headers.items()}


def parse_event(message: EslMessage) -> Event:
    """Decode an event message (plain or json). Raises :class:`ProtocolError` if it is malformed."""
    if message.content_type == CONTENT_EVENT_PLAIN:
        return parse_plain_event(message.body)
    if message.content_type == CONTENT_EVENT_JSON:
        return parse_json_event(message.body)
    raise ProtocolError(f"not an event: Content-Type {message.content_type!r}")


def parse_plain_event(data: bytes) -> Event:
    head, sep, rest = data.partition(b"\n\n")
    raw_headers = parse_header_block(head)
    headers, lists = _decode_event_headers(raw_headers)
    body = b""
    if sep:
        length = _content_length(raw_headers)
        body = rest[:length] if length else b""
    return Event(headers=headers, body=body.decode("utf-8", errors="replace"), lists=lists)


def parse_json_event(data: bytes) -> Event:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ProtocolError(f"event body is not JSON: {data[:80]!r}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError("JSON event is not an object")
    headers: dict[str, str] = {}
    lists: dict[str, tuple[str, ...]] = {}
    body = ""
    for name, value in obj.items():
        if name == "_body":
            body = str(value)
        elif isinstance(value, list):
            lists[name] = tuple(str(item) for item in value)
            headers[name] = "ARRAY::" + "|:".join(lists[name])
        else:
            headers[name] = str(value)
    return Event(headers=headers, body=body, lists=lists)


def connect_reply_event(message: EslMessage) -> Event:
    """The outbound ``connect`` reply: a serialized CHANNEL_DATA event carried in command/reply headers."""
    if message.content_type != CONTENT_COMMAND_REPLY:
        raise ProtocolError(f"connect reply has Content-Type {message.content_type!r}")
    headers, lists = _decode_event_headers(message.headers)
    return Event(headers=headers, lists=lists)


def _decode_event_headers(
    raw_headers: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """URL-decode the values; multi-value variables (``ARRAY::a|:b``) are also split into ``lists``."""
    headers = decode_headers(raw_headers)
    lists = {
        name: tuple(value[len("ARRAY::") :].split("|:"))
        for name, value in headers.items()
        if value.startswith("ARRAY::")
    }
    return headers, lists


def serialize_command(command: str, headers: Mapping[str, str] | None = None, body: str = "") -> bytes:
    """Frame a command for the socket. Callers build ``command`` with :mod:`app.esl.commands`."""
    lines = [command]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body.encode('utf-8'))}")
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")
