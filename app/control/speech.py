"""What the agent is saying: rendered pieces, their FIFO order on the channel, and what was heard. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Piece:
    """One sentence of an agent turn on its way to the caller."""

    tag: str
    turn: int
    text: str
    path: Path | None = None
    duration_ms: int | None = None
    broadcast: bool = False
    started_us: int | None = None
    heard_ms: int | None = None
    status: str | None = None  # "done" | "break" | "dropped" | "failed" once finished
    levels: tuple[int, ...] = ()  # dB per 20 ms, the worker's echo reference
    paused_us: int = 0  # time spent paused (uuid_fileman), not heard
    paused_since_us: int | None = None

    def pause(self, at_us: int) -> None:
        if self.paused_since_us is None:
            self.paused_since_us = at_us

    def resume(self, at_us: int) -> None:
        if self.paused_since_us is not None:
            self.paused_us += max(0, at_us - self.paused_since_us)
            self.paused_since_us = None

    @property
    def order(self) -> int:
        return int(self.tag.partition(":")[2])


class SpeechQueue:
    """Pieces in speaking order. A piece is broadcast once it and every piece before it are rendered,
    because FreeSWITCH plays broadcasts first in, first out."""

    def __init__(self) -> None:
        self._pieces: list[Piece] = []
        self._count = 0

    def add(self, turn: int, text: str) -> Piece:
        self._count += 1
        piece = Piece(tag=f"say:{self._count}", turn=turn, text=text)
        self._pieces.append(piece)
        return piece

    def get(self, tag: str) -> Piece | None:
        return next((p for p in self._pieces if p.tag == tag), None)

    def rendered(
        self, tag: str, path: Path, duration_ms: int | None, levels: tuple[int, ...] = ()
    ) -> list[Piece]:
        """Record a render; return the pieces that may be broadcast now, in order."""
        piece = self.get(tag)
        if piece is None:
            return []
        piece.path, piece.duration_ms, piece.levels = path, duration_ms, levels
        ready = []
        for candidate in self._pieces:
            if candidate.broadcast:
                continue
            if candidate.path is None:
                break
            candidate.broadcast = True
            ready.append(candidate)
        return ready

    def started(self, path: str, at_us: int | None) -> Piece | None:
        piece = self._by_path(path)
        if piece is not None:
            piece.started_us = at_us
        return piece

    def stopped(self, path: str, at_us: int | None, status: str) -> Piece | None:
        """The piece whose playback ended (it leaves the queue), with how much was heard."""
        piece = self._by_path(path)
        if piece is None:
            return None
        self._pieces.remove(piece)
        piece.status = status
        if status == "done" and piece.duration_ms is not None:
            piece.heard_ms = piece.duration_ms
        elif piece.started_us is not None and at_us is not None:
            piece.resume(at_us)
            heard = max(0, (at_us - piece.started_us - piece.paused_us) // 1000)
            piece.heard_ms = min(heard, piece.duration_ms) if piece.duration_ms is not None else heard
        else:
            piece.heard_ms = 0
        return piece

    def remove(self, tag: str, status: str) -> Piece | None:
        """A piece that will never play (render or broadcast failed)."""
        piece = self.get(tag)
        if piece is not None:
            self._pieces.remove(piece)
            piece.status, piece.heard_ms = status, 0
        return piece

    def drop_unplayed(self) -> list[Piece]:
        """Barge-in: forget every piece that has not started (``uuid_break all`` flushed them)."""
        dropped = [p for p in self._pieces if p.started_us is None]
        for piece in dropped:
            self._pieces.remove(piece)
            piece.status, piece.heard_ms = "dropped", 0
        return dropped

    def current(self) -> Piece | None:
        """The piece FreeSWITCH is playing now (started, not stopped)."""
        return next((p for p in self._pieces if p.started_us is not None), None)

    @property
    def playing(self) -> bool:
        """Something is on the channel or queued there."""
        return any(p.broadcast for p in self._pieces)

    @property
    def empty(self) -> bool:
        return not self._pieces

    def has_turn(self, turn: int) -> bool:
        return any(p.turn == turn for p in self._pieces)

    def broadcast(self) -> list[Piece]:
        """The pieces on the channel or queued there, in playing order."""
        return [p for p in self._pieces if p.broadcast]

    def texts(self) -> list[str]:
        return [p.text for p in self._pieces]

    def _by_path(self, path: str) -> Piece | None:
        return next((p for p in self._pieces if p.broadcast and str(p.path) == path), None)
