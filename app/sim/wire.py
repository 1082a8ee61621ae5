"""Event Socket wire format as FreeSWITCH 1.10 writes and reads it (pure, no I/O).

Covers the URL encoding of ``switch_url_encode``, the plain and JSON serialisation of events
(``switch_event_serialize`` / ``switch_event_serialize_json``), the framing of replies and
notices, and the incremental parser of client commands that mirrors ``read_packet`` in
mod_event_socket.c.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

URL_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
HEX_DIGITS = b"0123456789ABCDEF"
GOODBYE_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
MAX_HEADER_BYTES = 64 * 1024

HeaderValue = str | list[str]


def url_encode(value: str) -> str:
    """Encode like ``switch_url_encode``: unsafe and non-printable bytes become %XX.

    An existing ``%XX`` escape is kept as is (FreeSWITCH does not double-encode).
    """
    raw = value.encode("utf-8", "surrogateescape")
    out = bytearray()
    hexset = frozenset(HEX_DIGITS)
    for index, byte in enumerate(raw):
        escaped = index + 2 < len(raw) and raw[index + 1] in hexset and raw[index + 2] in hexset
        if byte == ord("%") and escaped:
            out.append(byte)
            continue
        if byte < 0x20 or byte > 0x7E or byte in URL_UNSAFE:
            out += b"%" + bytes((HEX_DIGITS[byte >> 4], HEX_DIGITS[byte & 0x0F]))
        else:
            out.append(byte)
    return out.decode("ascii")


def url_decode(value: str) -> str:
    """Inverse of :func:`url_encode` (``+`` is not special in FreeSWITCH's encoding)."""
    raw = value.encode("utf-8", "surrogateescape")
    out = bytearray()
    index = 0
    while index < len(raw):
        byte = raw[index]
        if byte == ord("%") and index + 3 <= len(raw):
            try:
                out.append(int(raw[index + 1 : index + 3], 16))
                index += 3
                continue
            except ValueError:
                pass
        out.append(byte)
        index += 1
    return out.decode("utf-8", "surrogateescape")


@dataclass
class Event:
    """One fired event: ordered headers (duplicates allowed, as in FreeSWITCH) and a body."""

    name: str
    headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    body: str | None = None
    subclass: str | None = None

    def add(self, name: str, value: HeaderValue | None) -> None:
        """Append a header; ``None`` is skipped like ``switch_event_add_header_string(NULL)``."""
        if value is None:
            return
        self.headers.append((name, value))

    def get(self, name: str) -> str | None:
        """First value of a header (case-insensitive), arrays joined FreeSWITCH-style."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return array_to_text(value)
        return None

    @property
    def unique_id(self) -> str | None:
        """The channel uuid the event is about, if any."""
        return self.get("Unique-ID")


def array_to_text(value: HeaderValue) -> str:
    """Render a multi-value header the way FreeSWITCH stores it: ``ARRAY::a|:b``."""
    if isinstance(value, list):
        return "ARRAY::" + "|:".join(value)
    return value


def serialize_plain(event: Event) -> str:
    """``switch_event_serialize(event, encode=TRUE)``: URL-encoded headers, then the body."""
    lines = []
    for name, value in event.headers:
        encoded = url_encode(array_to_text(value))
        lines.append(f"{name}: {encoded or '_undef_'}\n")
    text = "".join(lines)
    if event.body:
        text += f"Content-Length: {len(event.body.encode('utf-8', 'surrogateescape'))}\n\n{event.body}"
    else:
        text += "\n"
    return text


def serialize_json(event: Event) -> str:
    """``switch_event_serialize_json``: one unformatted object, string values, ``_body`` last."""
    parts = []
    for name, value in event.headers:
        parts.append(f"{_json_str(name)}:{_json_value(value)}")
    if event.body is not None:
        size = len(event.body.encode("utf-8", "surrogateescape"))
        parts.append(f'"Content-Length":"{size}"')
        parts.append(f'"_body":{_json_str(event.body)}')
    return "{" + ",".join(parts) + "}"


def _json_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _json_value(value: HeaderValue) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_json_str(item) for item in value) + "]"
    return _json_str(value)


def frame_event(event: Event, fmt: str) -> bytes:
    """Frame an event for a listener in ``plain`` or ``json`` format."""
    text = serialize_json(event) if fmt == "json" else serialize_plain(event)
    payload = text.encode("utf-8", "surrogateescape")
    return f"Content-Length: {len(payload)}\nContent-Type: text/event-{fmt}\n\n".encode() + payload


def command_reply(reply_text: str, extra_headers: str = "") -> bytes:
    """A ``command/reply`` message (``extra_headers`` are full ``Name: value\\n`` lines)."""
    return f"Content-Type: command/reply\nReply-Text: {reply_text}\n{extra_headers}\n".encode(
        "utf-8", "surrogateescape"
    )


def api_response(body: str) -> bytes:
    """An ``api/response`` message; an empty result becomes ``-ERR no reply`` as in api_exec."""
    if not body:
        body = "-ERR no reply\n"
    payload = body.encode("utf-8", "surrogateescape")
    return f"Content-Type: api/response\nContent-Length: {len(payload)}\n\n".encode() + payload


def disconnect_notice(session_uuid: str | None, message: str = GOODBYE_TEXT) -> bytes:
    """The goodbye ``text/disconnect-notice`` sent before FreeSWITCH closes a socket."""
    size = len(message.encode())
    if session_uuid:
        head = (
            f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {session_uuid}\n"
            f"Content-Disposition: disconnect\nContent-Length: {size}\n\n"
        )
    else:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {size}\n\n"
    return (head + message).encode()


def linger_notice(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """The notice a lingering outbound socket receives once its channel is down."""
    return (
        f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {session_uuid}\n"
        f"Content-Disposition: linger\nChannel-Name: {channel_name}\nLinger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


@dataclass
class Command:
    """One packet from a client: the command line, its headers (lower-cased names), a body."""

    line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name."""
        return self.headers.get(name.lower())


class CommandParser:
    """Incremental parser of client packets, following ``read_packet``.

    Leading blank lines are skipped; a packet ends at two newlines (``\\r`` ignored); the
    first line is the command; ``Name: value`` lines become headers; a ``Content-Length``
    header makes the parser read that many body bytes.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: Command | None = None
        self._body_left = 0

    def feed(self, data: bytes) -> Iterator[Command]:
        """Add received bytes and yield every complete command."""
        self._buffer += data
        while True:
            command = self._next()
            if command is None:
                return
            yield command

    def _next(self) -> Command | None:
        if self._pending is not None:
            if len(self._buffer) < self._body_left:
                return None
            body = bytes(self._buffer[: self._body_left])
            del self._buffer[: self._body_left]
            command = self._pending
            command.body = body.decode("utf-8", "surrogateescape")
            self._pending = None
            return command
        while bytes(self._buffer[:1]) in (b"\r", b"\n"):
            del self._buffer[:1]
        end = _find_packet_end(self._buffer)
        if end is None:
            if len(self._buffer) >= MAX_HEADER_BYTES:
                end = len(self._buffer)
            else:
                return None
        head = bytes(self._buffer[:end]).decode("utf-8", "surrogateescape")
        del self._buffer[:end]
        command = _parse_head(head)
        length = command.header("content-length")
        size = atoi(length) if length is not None else 0
        if size > 0:
            self._pending = command
            self._body_left = size
            return self._next()
        return command


def _find_packet_end(buffer: bytearray) -> int | None:
    newlines = 0
    for index, byte in enumerate(buffer):
        if byte == 0x0A:
            newlines += 1
            if newlines == 2:
                return index + 1
        elif byte != 0x0D:
            newlines = 0
    return None


def _parse_head(head: str) -> Command:
    lines = [line.rstrip("\r") for line in head.split("\n")]
    command = Command(line=lines[0])
    for line in lines[1:]:
        if not line or ":" not in line:
            continue
        name, value = line.split(":", 1)
        command.headers.setdefault(name.lower(), value.lstrip(" "))
    return command


def atoi(text: str) -> int:
    """C's ``atoi`` as FreeSWITCH uses it: leading blanks, a sign, ASCII digits up to the first other
    character (``str.isdigit()`` would take '²', which ``int()`` refuses); 0 when there are none.

    ``atoi`` overflows long before ``int()`` would refuse thousands of digits; 18 digits are kept.
    """
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text[1:] if text[:1] in ("+", "-") else text:
        if char not in "0123456789":
            break
        digits += char
    return sign * int(digits[:18]) if digits else 0
