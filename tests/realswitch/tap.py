"""A recording TCP relay between FreeSWITCH and a Callbridge listener, for real transcripts.

FreeSWITCH's dialplan connects to the tap (the ``socket`` target); the tap connects to the controller and
relays both directions unchanged, writing each connection as an annotated transcript in the format of
``tests/fixtures/freeswitch-1.10.12/README.md``: a ``>>> sent N bytes @T`` (controller to FreeSWITCH) or
``<<< received N bytes @T`` (FreeSWITCH to controller) line, exactly N raw bytes, then one newline.
Unlike the fixtures, blocks are split where TCP reads fell, not at message boundaries.
It runs in gevent greenlets, next to the stack it relays to.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import BinaryIO

import gevent
import gevent.lock
import gevent.server
import gevent.socket


class Tap:
    """Listen on ``listen_port`` and relay every connection to ``target_port`` (both on 127.0.0.1)."""

    def __init__(self, listen_port: int, target_port: int, directory: Path) -> None:
        self.target_port = target_port
        self.directory = directory
        self.transcripts: list[Path] = []
        self._numbers = itertools.count(1)
        self._server = gevent.server.StreamServer(("127.0.0.1", listen_port), self._relay)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server.start()

    def stop(self) -> None:
        self._server.stop(timeout=2)

    def _relay(self, switch_side: gevent.socket.socket, _address: object) -> None:
        path = self.directory / f"connection-{next(self._numbers)}.txt"
        self.transcripts.append(path)
        started = time.monotonic()
        lock = gevent.lock.Semaphore()
        controller_side = gevent.socket.create_connection(("127.0.0.1", self.target_port))
        with path.open("wb") as out:
            out.write(f"--- TCP connect to the controller at 127.0.0.1:{self.target_port} @0.000s\n".encode())

            def pump(source: gevent.socket.socket, sink: gevent.socket.socket, marker: str) -> None:
                while True:
                    try:
                        data = source.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        side = "FreeSWITCH" if marker.startswith("<<<") else "controller"
                        _note(out, lock, f"--- EOF from the {side} @{time.monotonic() - started:.3f}s")
                        try:
                            sink.shutdown(gevent.socket.SHUT_WR)
                        except OSError:
                            pass
                        return
                    _block(out, lock, marker, data, time.monotonic() - started)
                    sink.sendall(data)

            pumps = [
                gevent.spawn(pump, switch_side, controller_side, "<<< received"),
                gevent.spawn(pump, controller_side, switch_side, ">>> sent"),
            ]
            gevent.joinall(pumps)
        controller_side.close()


def _block(out: BinaryIO, lock: gevent.lock.Semaphore, marker: str, data: bytes, at: float) -> None:
    with lock:
        out.write(f"{marker} {len(data)} bytes @{at:.3f}s\n".encode())
        out.write(data)
        out.write(b"\n")
        out.flush()


def _note(out: BinaryIO, lock: gevent.lock.Semaphore, text: str) -> None:
    with lock:
        out.write((text + "\n").encode())
        out.flush()


def read_blocks(path: Path) -> list[tuple[str, float, bytes]]:
    """A transcript's blocks as (``sent`` or ``received``, seconds, bytes); notes and preamble left out."""
    data = path.read_bytes()
    blocks = []
    position = 0
    while position < len(data):
        end = data.index(b"\n", position)
        line = data[position:end].decode()
        position = end + 1
        if not line or line.startswith(("---", "#")):  # notes, and a fixture's preamble
            continue
        _marker, direction, count, _, at = line.split()
        length = int(count)
        blocks.append((direction, float(at.lstrip("@").rstrip("s")), data[position : position + length]))
        position += length + 1
    return blocks


def joined(path: Path, direction: str) -> str:
    """Everything sent (``sent``) or received (``received``) on one connection, as text."""
    return b"".join(chunk for way, _, chunk in read_blocks(path) if way == direction).decode(errors="replace")
