"""Replay the inbound ESL fixtures against the stand-in: same replies, same events, same order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gevent import socket

from app.sim.switch import FakeSwitch
from tests.sim.replay import Replay, compare_with_fixture, header_differences
from tests.sim.transcript import FIXTURES, MessageReader, parse_message, read_transcript

PASSWORD = "ClueCon"


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD) as fake:
        yield fake


def connect(switch: FakeSwitch) -> socket.socket:
    return socket.create_connection(("127.0.0.1", switch.esl_port), timeout=10)


def test_transcript_parser_reads_every_block() -> None:
    blocks = read_transcript(FIXTURES / "inbound-esl.txt")
    received = b"".join(block.data for block in blocks if block.direction == "received")
    assert received == (FIXTURES / "inbound-esl.received.txt").read_bytes()
    assert blocks[1].direction == "sent"
    assert blocks[1].data == b"auth ClueCon\n\n"


def test_inbound_esl_fixture_is_reproduced(switch: FakeSwitch) -> None:
    blocks = read_transcript(FIXTURES / "inbound-esl.txt")
    replay = Replay(blocks)
    with connect(switch) as sock:
        replay.run(sock)
    compare_with_fixture(blocks, replay.received)
    differences = header_differences(blocks, replay.received)
    assert differences == {}, differences


def test_bad_password_is_refused_and_closed(switch: FakeSwitch) -> None:
    blocks = read_transcript(FIXTURES / "inbound-esl-bad-auth.txt")
    replay = Replay(blocks)
    with connect(switch) as sock:
        replay.run(sock)
    compare_with_fixture(blocks, replay.received)
    expected = b"".join(block.data for block in blocks if block.direction == "received")
    assert b"".join(_raw(message) for message in replay.received) == expected


def _raw(message: object) -> bytes:
    assert hasattr(message, "headers")
    head = "".join(f"{name}: {value}\n" for name, value in message.headers.items())
    return head.encode() + b"\n" + message.body


def test_commands_before_auth_are_refused(switch: FakeSwitch) -> None:
    with connect(switch) as sock:
        reader = MessageReader()
        assert reader.feed(sock.recv(4096)) == [b"Content-Type: auth/request\n\n"]
        sock.sendall(b"api status\n\n")
        reply = parse_message(_read_one(sock, reader))
        assert reply.headers["Reply-Text"] == "-ERR command not found"
        sock.sendall(b"auth ClueCon\n\n")
        assert parse_message(_read_one(sock, reader)).headers["Reply-Text"] == "+OK accepted"


def _read_one(sock: socket.socket, reader: MessageReader) -> bytes:
    while True:
        messages = reader.feed(sock.recv(65536))
        if messages:
            return messages[0]
