"""Test helper: replay a fixture's client side against the stand-in and compare the answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gevent import socket

from tests.sim.transcript import Block, Message, MessageReader, parse_message, received_messages, summary

FIXTURE_WAV = b"/srv/sounds/prompts/demo01/prompt_2s.wav"

STEP_TIMEOUT = 15.0
VARIABLE_PREFIX = "variable_"


def is_optional(message: Message) -> bool:
    """CHANNEL_PARK of the socket app's own park arrives only if myevents was in time (fact 8)."""
    return message.event_name == "CHANNEL_PARK" and bool(message.event)


def is_floating(item: tuple[str, ...]) -> bool:
    """Messages whose position legitimately varies (BACKGROUND_JOB, linger notice)."""
    return (item[0] == "event" and item[2] == "BACKGROUND_JOB") or item[:2] == ("notice", "linger")


@dataclass
class Replay:
    """Drives one connection: sends the fixture's commands, fires caller actions, records replies."""

    blocks: list[Block]
    substitute: Callable[[bytes], bytes] = lambda data: data
    actions: dict[int, Callable[[], None]] = field(default_factory=dict)
    received: list[Message] = field(default_factory=list)

    def run(self, sock: socket.socket) -> None:
        """Send each command once as many messages have arrived as in the fixture; read to EOF."""
        reader = MessageReader()
        expected_before = 0
        sock.settimeout(STEP_TIMEOUT)
        for block in self.blocks:
            if block.direction == "received":
                if not is_optional(parse_message(block.data)):
                    expected_before += 1
                continue
            while self._count() < expected_before:
                self._read(sock, reader)
            sock.sendall(self.substitute(block.data))
        while self._read(sock, reader):
            pass

    def _count(self) -> int:
        return sum(1 for message in self.received if not is_optional(message))

    def _read(self, sock: socket.socket, reader: MessageReader) -> bool:
        data = sock.recv(65536)
        if not data:
            return False
        for raw in reader.feed(data):
            self.received.append(parse_message(raw))
            action = self.actions.pop(self._count(), None)
            if action is not None:
                action()
        return True


def compare_with_fixture(blocks: list[Block], ours: list[Message]) -> None:
    """Same replies and events in the same order (allowing the documented variations)."""
    theirs = [message for message in received_messages(blocks) if not is_optional(message)]
    mine = [message for message in ours if not is_optional(message)]
    expected = [summary(message) for message in theirs]
    actual = [summary(message) for message in mine]
    ordered_actual = [s for s in actual if not is_floating(s)]
    ordered_expected = [s for s in expected if not is_floating(s)]
    assert ordered_actual == ordered_expected, _diff(ordered_expected, ordered_actual)
    floating_actual = sorted(s for s in actual if is_floating(s))
    floating_expected = sorted(s for s in expected if is_floating(s))
    assert floating_actual == floating_expected, _diff(floating_expected, floating_actual)


def _diff(expected: list[tuple[str, ...]], actual: list[tuple[str, ...]]) -> str:
    lines = ["FreeSWITCH | stand-in"]
    for index in range(max(len(expected), len(actual))):
        left = expected[index] if index < len(expected) else ("-",)
        right = actual[index] if index < len(actual) else ("-",)
        mark = "  " if left == right else "!!"
        lines.append(f"{mark} {left!r:.110} | {right!r:.110}")
    return "\n".join(lines)


def header_differences(blocks: list[Block], ours: list[Message]) -> dict[str, tuple[set[str], set[str]]]:
    """Per event name: header names (not variable_*) only FreeSWITCH sent, and only we sent."""
    theirs = [m for m in received_messages(blocks) if m.event and not is_optional(m)]
    mine = [m for m in ours if m.event and not is_optional(m)]
    differences: dict[str, tuple[set[str], set[str]]] = {}
    by_name: dict[str, list[Message]] = {}
    for message in mine:
        by_name.setdefault(_key(message), []).append(message)
    for message in theirs:
        candidates = by_name.get(_key(message))
        if not candidates:
            continue
        counterpart = candidates.pop(0)
        fs_names = {name for name, _ in message.event if not name.startswith(VARIABLE_PREFIX)}
        our_names = {name for name, _ in counterpart.event if not name.startswith(VARIABLE_PREFIX)}
        if fs_names != our_names:
            differences[_key(message)] = (fs_names - our_names, our_names - fs_names)
    return differences


def _key(message: Message) -> str:
    channel = message.event_header("Channel-Name") or ""
    if channel.startswith("sofia/"):
        channel = "/".join(channel.split("/")[:2])
    return f"{message.event_name}:{message.event_header('Event-Subclass') or ''}:{channel}"


def count_through(blocks: list[Block], after_sent: bytes, received_marker: bytes) -> int:
    """How many messages have arrived once the block containing ``received_marker`` (the first
    one after the command containing ``after_sent``) has arrived."""
    count = 0
    armed = False
    for block in blocks:
        if block.direction == "sent":
            armed = armed or after_sent in block.data
            continue
        if not is_optional(parse_message(block.data)):
            count += 1
        if armed and received_marker in block.data:
            return count
    raise AssertionError(f"marker {received_marker!r} not found")
