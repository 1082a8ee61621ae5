"""A call taken back after a controller restart (issue 16 item 1): restore it from the call log and go on.

The dialplan parks a call whose controller went away (dialplan/*: ``park`` after ``socket``); a controller
starting up transfers it back into its extension (:mod:`app.control.reclaim`), so it arrives again as a new
outbound-socket connection for the same uuid, marked ``callbridge_reattach=true``. Its session then does not
answer or greet: it reads the turns so far from the call log (they become the dialog history), records
``reattached``, starts the worker's stream again, says a short line and waits for the caller. A scripted
flow's position is restored by walking a fresh agent through the caller's recorded turns
(:class:`ResumingAgents`); an LLM agent needs nothing but the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from app.control import actions as a
from app.control.agent_inputs import InputRecorder, InputSource, RecordingAgent, recorded_inputs
from app.control.phase import Phase
from app.dialog import base as d
from app.esl import commands

if TYPE_CHECKING:
    from app.control.session import CallSession
    from app.store.records import TurnRow

log = logging.getLogger(__name__)

RESUME_LINE = "Sorry, where were we?"
ECHO_MEMORY = 3  # as app.control.dialogue: the agent's last turns whose words count as possible echo


class TurnHistory(Protocol):
    """What restoring needs from the call log (:meth:`app.store.CallLog.turns`)."""

    def turns(self, uuid: str) -> list[TurnRow]: ...


class AgentMaker(Protocol):
    """:class:`app.control.controller.AgentSource` (not imported here: no import cycle)."""

    def agent_for(self, context: d.CallContext, flow: str | None) -> d.Agent: ...


@dataclass(frozen=True)
class Restored:
    """What the call log says about a call in progress: its turns, or why they could not be read."""

    history: tuple[d.Turn, ...] = ()
    error: str | None = None


def restore(source: TurnHistory | None, uuid: str) -> Restored:
    """The call's recorded turns as dialog history; empty (with the reason) when the call log cannot say."""
    if source is None:
        return Restored(error="no call log to restore from")
    try:
        rows = source.turns(uuid)
    except Exception as exc:  # the database may be away: the call goes on without its history
        log.warning("call %s: re-attached, but its turns could not be read: %s", uuid, exc)
        return Restored(error=f"{type(exc).__name__}: {exc}"[:300])
    history = tuple(
        d.Turn("caller" if row.speaker == "caller" else "agent", row.text, row.interrupted)
        for row in rows
        if row.speaker in ("caller", "agent") and row.text
    )
    return Restored(history)


def resume(session: CallSession, restored: Restored, now: datetime) -> list[a.Action]:
    """The first actions of a re-attached call (instead of answering and greeting)."""
    session.phase = Phase.ACTIVE
    dialogue = session.dialogue
    dialogue.history.extend(restored.history)
    agent_texts = [turn.text for turn in restored.history if turn.speaker == "agent"]
    dialogue.recent_agent_texts = agent_texts[-ECHO_MEMORY:]
    detail: dict[str, object] = {"turns": len(restored.history)}
    if restored.error:
        detail["error"] = restored.error
    session.log.info(
        "call %s: re-attached with %d turn(s) of history", session.info.uuid, len(restored.history)
    )
    return [
        a.RecordStart(created_at=now),  # a no-op when the call is recorded: its row is never made twice
        a.RecordEvent("reattached", now, detail),
        # The previous worker's stream may still be attached: mod_audio_stream refuses a second start.
        a.Api("stream_stop", commands.audio_stream_stop(session.info.uuid)),
        session.start_stream(),
        *dialogue.say(RESUME_LINE, "reattached", now),
    ]


class ResumingAgents:
    """Makes agents through ``inner``, recording each one's inputs (``agent_input`` events, with a
    ``recorder``). An agent made for a call that already has history (a re-attached call: a new call's first
    input comes with none) and that can rehearse (a scripted flow: deterministic, local) is first walked
    through the inputs recorded for the call, or, if there are none, through its caller's turns."""

    def __init__(
        self, inner: AgentMaker, recorder: InputRecorder | None = None, inputs: InputSource | None = None
    ) -> None:
        self.inner = inner
        self.recorder = recorder
        self.inputs = inputs

    def agent_for(self, context: d.CallContext, flow: str | None) -> d.Agent:
        """The agent for ``context``, at the point of the conversation its history reached."""
        agent = self.inner.agent_for(context, flow)
        if context.history and isinstance(agent, d.Rehearsing):
            recorded = recorded_inputs(self.inputs, context.uuid) if self.inputs is not None else []
            if recorded:
                for event in recorded:
                    _drain(agent.respond(replace(context, history=()), event))
            else:
                replay(agent, context, context.history)
        return agent if self.recorder is None else RecordingAgent(agent, self.recorder, context.uuid)


def replay(agent: d.Agent, context: d.CallContext, history: Sequence[d.Turn]) -> None:
    """Feed ``agent`` the call's start and each of the caller's turns, discarding what it would say."""
    so_far: list[d.Turn] = []
    _drain(agent.respond(replace(context, history=()), d.CallStarted()))
    for turn in history:
        if turn.speaker == "caller":
            _drain(agent.respond(replace(context, history=tuple(so_far)), d.Utterance(turn.text)))
        so_far.append(turn)


def _drain(actions: Iterable[object]) -> None:
    for _action in actions:
        pass
