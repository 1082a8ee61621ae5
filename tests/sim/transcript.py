"""Test helper: read the FreeSWITCH 1.10.12 fixture transcripts (tests/fixtures/) and normalise ESL messages.

Transcript format: ``>>> sent N bytes @T`` / ``<<< received N bytes @T`` marker lines, each
followed by exactly N raw bytes and one ``\\n``; ``--- `` lines are notes; ``#`` lines a preamble.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "freeswitch-1.10.12"
MARKER = re.compile(rb"(>>> sent|<<< received) (\d+) bytes @([\d.]+)s\n")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Block:
    """One transcript block: ``sent`` (client to FreeSWITCH) or ``received``."""

    direction: str
    at: float
    data: bytes


def read_transcript(path: Path) -> list[Block]:
    """Parse a fixture transcript into its blocks (notes and preamble are skipped)."""
    data = path.read_bytes()
    blocks: list[Block] = []
    index = 0
    while index < len(data):
        match = MARKER.match(data, index)
        if match is None:
            end = data.find(b"\n", index)
            index = len(data) if end < 0 else end + 1
            continue
        size = int(match.group(2))
        start = match.end()
        direction = "sent" if match.group(1).startswith(b">>>") else "received"
        blocks.append(Block(direction, float(match.group(3)), data[start : start + size]))
        if data[start + size : start + size + 1] != b"\n":
            raise ValueError(f"{path}: block at byte {start} is not followed by a newline")
        index = start + size + 1
    return blocks


@dataclass
class Message:
    """One ESL message from FreeSWITCH: outer headers, body, and (for events) the event headers."""

    headers: dict[str, str]
    body: bytes
    event: list[tuple[str, str]] = field(default_factory=list)
    event_body: str = ""

    @property
    def content_type(self) -> str:
        """Content-Type of the message ('' for the CHANNEL_DATA connect reply)."""
        return self.headers.get("Content-Type", "")

    def event_header(self, name: str) -> str | None:
        """First event header value (decoded) by name."""
        for key, value in self.event:
            if key == name:
                return value
        return None

    @property
    def event_name(self) -> str | None:
        """Event-Name for events and for the CHANNEL_DATA connect reply."""
        if self.event:
            return self.event_header("Event-Name")
        return self.headers.get("Event-Name")


def parse_message(raw: bytes) -> Message:
    """Parse one complete ESL message (as a received fixture block or read from a socket)."""
    head, _, body = raw.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        name, sep, value = line.partition(": ")
        if sep:
            headers.setdefault(name, value)
    message = Message(headers=headers, body=body)
    content_type = headers.get("Content-Type", "")
    if content_type == "text/event-plain":
        ev_head, _, ev_body = body.partition(b"\n\n")
        for line in ev_head.decode("utf-8", "replace").split("\n"):
            name, sep, value = line.partition(": ")
            if sep:
                message.event.append((name, unquote(value)))
        message.event_body = ev_body.decode("utf-8", "replace")
    elif content_type == "text/event-json":
        obj = json.loads(body)
        for name, value in obj.items():
            if name != "_body":
                message.event.append((name, value if isinstance(value, str) else json.dumps(value)))
        message.event_body = obj.get("_body", "")
    return message


def normalise(text: str) -> str:
    """Replace uuids and digit runs so messages from different runs compare equal."""
    return re.sub(r"\d+", "N", UUID.sub("<uuid>", text))


def summary(message: Message) -> tuple[str, ...]:
    """A comparable summary: kind plus the values that must match FreeSWITCH's."""
    content_type = message.content_type
    if message.headers.get("Event-Name") == "CHANNEL_DATA":
        return ("channel_data", message.headers.get("Socket-Mode", ""), message.headers.get("Control", ""))
    if content_type == "command/reply":
        return ("reply", normalise(message.headers.get("Reply-Text", "")))
    if content_type == "api/response":
        body = message.body.decode("utf-8", "replace")
        if body.startswith('{"row_count"'):
            rows = json.loads(body).get("rows", [])
            keys = sorted({key for row in rows for key in row})
            return ("api", "json", str(len(rows)), ",".join(keys))
        return ("api", normalise(body))
    if content_type == "text/disconnect-notice":
        return (
            "notice",
            message.headers.get("Content-Disposition", "goodbye"),
            normalise(message.body.decode()),
        )
    if content_type in ("text/event-plain", "text/event-json"):
        name = message.event_header("Event-Name") or ""
        subclass = message.event_header("Event-Subclass") or ""
        body = ""
        if name == "BACKGROUND_JOB" and not message.event_body.startswith("UP "):
            body = normalise(message.event_body)
        if name == "CUSTOM" and subclass in ("mod_audio_stream::json", "mod_audio_stream::connect"):
            body = message.event_body
        return ("event", content_type[-5:].lstrip("-"), name, subclass, body)
    return ("other", content_type)


def received_messages(blocks: list[Block]) -> list[Message]:
    """The received blocks of a transcript, parsed."""
    return [parse_message(block.data) for block in blocks if block.direction == "received"]


class MessageReader:
    """Splits a byte stream from the stand-in into ESL messages (headers, optional body)."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return each complete raw message."""
        self.buffer += data
        messages = []
        while True:
            end = self.buffer.find(b"\n\n")
            if end < 0:
                return messages
            head = self.buffer[:end].decode("utf-8", "replace")
            length = 0
            for line in head.split("\n"):
                if line.startswith("Content-Length: "):
                    length = int(line.split(": ", 1)[1])
            total = end + 2 + length
            if len(self.buffer) < total:
                return messages
            messages.append(self.buffer[:total])
            self.buffer = self.buffer[total:]
