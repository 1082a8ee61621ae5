"""The agent's audio on the channel: queueing sentences, telling the worker what plays, and holding the
agent while the caller may be talking over it. Pure: returns actions, keeps only the pause state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.control import actions as a
from app.control.speech import Piece
from app.esl import commands

# A paused agent resumes on its own after this long without a decision (a lost worker message).
PAUSE_GUARD_SECONDS = 2.0


def worker_notice(uuid: str, tag: str, payload: dict[str, object]) -> a.Api:
    """A message to the worker over the audio stream (``uuid_audio_stream send_text``)."""
    return a.Api(tag, commands.audio_stream_send_text(uuid, payload))


def playback_notice(piece: Piece) -> dict[str, object]:
    """Tells the worker what is about to play: its text, and its level envelope as the echo reference."""
    payload: dict[str, object] = {"type": "playback", "on": True, "id": piece.tag}
    payload["text"] = commands.plain_text(piece.text)
    if piece.levels:
        payload["levels"] = list(piece.levels)
    return payload


def play(uuid: str, piece: Piece, command: str) -> a.Action:
    """Queue a sentence on the channel (FIFO either way; ``uuid_break all`` flushes both)."""
    path = str(piece.path)
    if command == "execute":
        # sendmsg puts the playback in the same private-event queue without uuid_broadcast's five lead
        # frames: it starts about 100 ms sooner.
        _, headers = commands.execute("playback", path, event_lock=True)
        return a.SendMsg(piece.tag, headers)
    return a.Api(piece.tag, commands.uuid_broadcast(uuid, path))


@dataclass
class AgentPause:
    """``uuid_fileman <uuid> pause`` on the caller's speech onset; a second one (it toggles) resumes."""

    uuid: str
    paused: bool = False

    def pause(self, piece: Piece, at: datetime, at_us: int) -> list[a.Action]:
        if self.paused:
            return []
        self.paused = True
        piece.pause(at_us)
        return [
            a.Api("pause", commands.uuid_fileman(self.uuid, "pause")),
            worker_notice(self.uuid, "playback_paused", {"type": "playback_paused"}),
            a.StartTimer("pause_guard", PAUSE_GUARD_SECONDS),
            a.RecordEvent("playback_paused", at),
        ]

    def resume(self, piece: Piece | None, at: datetime, at_us: int, why: str) -> list[a.Action]:
        """It was not a barge-in (a backchannel, a cough): the agent goes on where it stopped."""
        if not self.paused:
            return []
        return [
            a.Api("resume", commands.uuid_fileman(self.uuid, "pause")),
            *self.released(piece, at_us),
            a.RecordEvent("playback_resumed", at, {"by": why}),
        ]

    def released(self, piece: Piece | None, at_us: int) -> list[a.Action]:
        """Not paused any more (resumed, or the pause found no file): the worker's timeline goes on."""
        self.paused = False
        if piece is not None:
            piece.resume(at_us)
        notice = worker_notice(self.uuid, "playback_resumed", {"type": "playback_resumed"})
        return [notice, a.CancelTimer("pause_guard")]

    def broken(self) -> list[a.Action]:
        """``uuid_break`` ended the paused file; its pause counts as not heard."""
        if not self.paused:
            return []
        self.paused = False
        return [a.CancelTimer("pause_guard")]
