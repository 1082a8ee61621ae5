"""What a :class:`~app.control.session.CallSession` asks the controller to do. Plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.dialog.base import AgentAction, CallContext, Input


@dataclass(frozen=True)
class Api:
    """``api <command>`` on the call's socket; the result comes back as a CommandResult with ``tag``."""

    tag: str
    command: str


@dataclass(frozen=True)
class SendMsg:
    """``sendmsg`` with headers (execute an application or hang up) on the call's socket."""

    tag: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Render:
    """Render ``text`` as a WAV at ``rate``; the controller answers with SpeechReady(tag, path)."""

    tag: str
    text: str
    rate: int


@dataclass(frozen=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class RecordStart:
    created_at: datetime


@dataclass(frozen=True)
class RecordAnswered:
    at: datetime


@dataclass(frozen=True)
class RecordEvent:
    name: str
    at: datetime
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordTurn:
    speaker: str
    text: str
    started_at: datetime | None
    ended_at: datetime | None
    interrupted: bool = False
    heard_ms: int | None = None
    timings: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordEnd:
    at: datetime
    hangup_cause: str | None
    billsec: int | None
    duration: int | None
    state: str = "ended"


@dataclass(frozen=True)
class RunAgent:
    """Ask the call's agent to respond to ``event``; its actions come back as AgentOutput, then AgentDone."""

    turn: int
    context: CallContext
    event: Input


@dataclass(frozen=True)
class CancelAgent:
    """Stop generating ``turn`` (the caller barged in or moved on)."""

    turn: int


@dataclass(frozen=True)
class Finish:
    """The session is over: the controller may close the socket."""


@dataclass(frozen=True)
class Rehearse:
    """Render ahead what the agent would answer to ``event`` (a transcript before the end of turn is
    decided); nothing is said and the agent's state does not move."""

    context: CallContext
    event: Input
    rate: int


Action = (
    Api
    | SendMsg
    | Render
    | StartTimer
    | CancelTimer
    | RecordStart
    | RecordAnswered
    | RecordEvent
    | RecordTurn
    | RecordEnd
    | RunAgent
    | CancelAgent
    | Rehearse
    | Finish
)


# Inputs the controller feeds back to the session besides ESL events.
@dataclass(frozen=True)
class CommandResult:
    tag: str
    ok: bool
    text: str
    sent_at: datetime | None = None


@dataclass(frozen=True)
class SpeechReady:
    tag: str
    path: Path | None
    duration_ms: int | None = None
    error: str | None = None
    levels: tuple[int, ...] = ()  # the audio's level per 20 ms (echo reference for the worker)


@dataclass(frozen=True)
class TimerFired:
    name: str


@dataclass(frozen=True)
class ConnectionLost:
    reason: str


@dataclass(frozen=True)
class AgentOutput:
    turn: int
    action: AgentAction


@dataclass(frozen=True)
class AgentDone:
    turn: int
