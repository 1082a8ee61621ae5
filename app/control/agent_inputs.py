"""What the agent was given, in order, as ``agent_input`` events in the call log (issue 16 item 1).

A scripted flow's position follows only from the inputs it was fed: the call's start, each utterance,
each key or collected digits, each silence. Recording them lets a call taken back after a controller
restart walk a fresh agent to the same node with the same retry counts (:mod:`app.control.resume`); the
caller's turns alone would miss DTMF answers and no-input retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from app.dialog import base as d

if TYPE_CHECKING:
    from app.store.records import EventRow

log = logging.getLogger(__name__)

EVENT_NAME = "agent_input"


class InputRecorder(Protocol):
    """Where inputs are written (the controller's recorder: the call log or its spool)."""

    def add_event(
        self, uuid: str, name: str, at: datetime, detail: dict[str, object] | None = None
    ) -> None: ...


class InputSource(Protocol):
    """Where they are read back (:meth:`app.store.CallLog.events`)."""

    def events(self, uuid: str) -> list[EventRow]: ...


def input_detail(event: d.Input) -> dict[str, object]:
    """The event's detail for one input."""
    match event:
        case d.Utterance(text=text):
            return {"input": "utterance", "text": text}
        case d.Dtmf(digits=digits):
            return {"input": "dtmf", "digits": digits}
        case d.NoInput():
            return {"input": "no_input"}
        case d.MachineAnswered():
            return {"input": "machine_answered"}
    return {"input": "call_started"}


def input_from_detail(detail: Mapping[str, object] | None) -> d.Input | None:
    """The input an ``agent_input`` event recorded, or None if it is not one this code writes."""
    kind = (detail or {}).get("input")
    text = (detail or {}).get("text")
    digits = (detail or {}).get("digits")
    if kind == "utterance" and isinstance(text, str):
        return d.Utterance(text)
    if kind == "dtmf" and isinstance(digits, str):
        return d.Dtmf(digits)
    simple: dict[object, Callable[[], d.Input]] = {
        "no_input": d.NoInput,
        "machine_answered": d.MachineAnswered,
        "call_started": d.CallStarted,
    }
    make = simple.get(kind)
    return make() if make is not None else None


def recorded_inputs(source: InputSource, uuid: str) -> list[d.Input]:
    """The inputs recorded for ``uuid``, in order (empty when the call log cannot be read)."""
    try:
        rows = source.events(uuid)
    except Exception as exc:  # the database may be away: the caller's turns are the fallback
        log.warning("call %s: the agent's recorded inputs could not be read: %s", uuid, exc)
        return []
    inputs = [input_from_detail(row.detail) for row in rows if row.name == EVENT_NAME]
    return [item for item in inputs if item is not None]


class RecordingAgent:
    """An agent whose every input is recorded before it answers; rehearsals are not inputs."""

    def __init__(self, inner: d.Agent, recorder: InputRecorder, uuid: str) -> None:
        self.inner = inner
        self.recorder = recorder
        self.uuid = uuid

    def respond(self, context: d.CallContext, event: d.Input) -> Iterator[d.AgentAction]:
        """Record ``event`` (a failed write only costs a restart's exactness), then let the agent answer."""
        try:
            self.recorder.add_event(self.uuid, EVENT_NAME, datetime.now(UTC), input_detail(event))
        except Exception:
            log.exception("call %s: recording the agent's input failed", self.uuid)
        return self.inner.respond(context, event)

    def rehearse(self, context: d.CallContext, event: d.Input) -> list[str]:
        """The wrapped agent's rehearsal, or nothing when it cannot rehearse."""
        if isinstance(self.inner, d.Rehearsing):
            return self.inner.rehearse(context, event)
        return []
