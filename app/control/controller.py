"""Runs a :class:`CallSession` on each FreeSWITCH ``socket`` connection and carries out its actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import gevent
import gevent.event
import gevent.queue
from greenswitch import esl as gs

from app import metrics
from app.control import actions as a
from app.control.callinfo import CallInfo, call_info_from_channel
from app.control.resume import TurnHistory, restore
from app.control.sentences import split_sentences
from app.control.session import CUSTOM_SUBCLASSES, SUBSCRIBED_EVENTS, CallSession, SessionPolicy
from app.dialog.base import Agent, AgentError, CallContext, Hangup, Input, Rehearsing, Say
from app.esl import commands
from app.esl.connection import CommandTimeout, Notice, OutboundSocket, reply_ok, reply_text
from app.esl.protocol import Event
from app.media.echo import wav_reference_levels
from app.store import NewCall

log = logging.getLogger(__name__)

Inbox = (
    Event | a.CommandResult | a.SpeechReady | a.TimerFired | a.ConnectionLost | a.AgentOutput | a.AgentDone
)


class CallRecorder(Protocol):
    """What the controller needs from the call log (see :class:`app.store.CallLog`)."""

    def start_call(self, call: NewCall) -> bool: ...
    def mark_answered(self, uuid: str, at: datetime) -> None: ...
    def add_event(
        self, uuid: str, name: str, at: datetime, detail: dict[str, object] | None = None
    ) -> None: ...
    def add_turn(
        self,
        uuid: str,
        *,
        speaker: str,
        text: str,
        started_at: datetime | None,
        ended_at: datetime | None,
        interrupted: bool = False,
        heard_ms: int | None = None,
        timings: dict[str, object] | None = None,
    ) -> int: ...
    def end_call(
        self,
        uuid: str,
        *,
        at: datetime,
        hangup_cause: str | None,
        billsec: int | None,
        duration: int | None,
        state: str = "ended",
    ) -> None: ...


class SpeechRenderer(Protocol):
    def render(self, text: str, rate: int) -> tuple[Path, int]: ...


class AgentSource(Protocol):
    """Makes the dialog agent of a new call; ``flow`` is the flow the call asked for, if any."""

    def agent_for(self, context: CallContext, flow: str | None) -> Agent: ...


# Sentences of a rehearsed reply rendered ahead (the first ones are what the caller waits for).
REHEARSED_SENTENCES = 2


def rehearsed_sentences(agent: object, context: CallContext, event: Input) -> list[str]:
    """The first sentences ``agent`` would say to ``event``, if it can rehearse (scripted flows can)."""
    if not isinstance(agent, Rehearsing):
        return []
    texts = agent.rehearse(context, event)
    return [s for text in texts for s in split_sentences(text)][:REHEARSED_SENTENCES]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CallController:
    """The application the outbound-socket server runs for every call."""

    def __init__(
        self,
        policy: SessionPolicy,
        recorder: CallRecorder,
        speech: SpeechRenderer,
        agents: AgentSource,
        *,
        clock: Callable[[], datetime] = utc_now,
        record_attempts: int = 3,
        history: TurnHistory | None = None,  # where a re-attached call's turns are read back
    ) -> None:
        self.policy = policy
        self.recorder = recorder
        self.speech = speech
        self.agents = agents
        self.clock = clock
        self.record_attempts = record_attempts
        self.history = history
        self._finished: dict[str, gevent.event.Event] = {}

    def __call__(self, sock: OutboundSocket) -> None:
        try:
            channel = sock.connect()
        except gs.NotConnectedError:
            # Closed before answering "connect": a load balancer's or monitor's TCP check, not a call.
            log.info("socket %s: closed before connect (a health probe?)", sock.label)
            return
        except (CommandTimeout, OSError) as exc:
            log.error("socket %s: FreeSWITCH left before connect: %s", sock.label, exc)
            return
        try:
            info = call_info_from_channel(channel)
        except ValueError as exc:
            log.error("socket %s: channel without a usable uuid, closing: %s", sock.label, exc)
            return
        done = self._finished.setdefault(info.uuid, gevent.event.Event())
        try:
            with metrics.active_call(info.call_type.value):
                _CallRun(self, sock, info).run()
        finally:
            done.set()
            self._forget_old_calls()

    def _forget_old_calls(self, keep: int = 1000) -> None:
        finished = [uuid for uuid, event in self._finished.items() if event.is_set()]
        for uuid in finished[: max(0, len(finished) - keep)]:
            del self._finished[uuid]

    def wait_finished(self, uuid: str, timeout: float | None = None) -> bool:
        """Block until the call's session has ended and its record is written."""
        return bool(self._finished.setdefault(uuid, gevent.event.Event()).wait(timeout))


class _CallRun:
    """One call's loop: a single greenlet feeds the session, so the session needs no locks."""

    def __init__(self, controller: CallController, sock: OutboundSocket, info: CallInfo) -> None:
        self.c = controller
        self.sock = sock
        self.info = info
        self.session = CallSession(info, controller.policy, dict(info.variables))
        if info.reattached:
            self.session.resumed = restore(controller.history, info.uuid)
        self.agent: Agent | None = None
        self.agent_runs: dict[int, gevent.Greenlet] = {}
        self.inbox: gevent.queue.Queue[Inbox] = gevent.queue.Queue()
        self.timers: dict[str, gevent.Greenlet] = {}
        self.log = logging.LoggerAdapter(log, {"call": info.uuid})
        self.done = False

    def run(self) -> None:
        try:
            self._run()
        except gevent.GreenletExit:
            # The controller is shutting down with this call still up: FreeSWITCH continues the dialplan,
            # which parks it for the next controller to take back (app/control/reclaim.py); the record
            # says how this controller's part ended.
            if not self.done:
                self.log.warning("call %s: cut off by the controller shutting down", self.info.uuid)
                self._record(a.RecordEvent("controller_shutdown", self.c.clock()))
                self._record(a.RecordEnd(self.c.clock(), self.session.hangup_cause, None, None, "failed"))
            raise
        finally:
            for timer in self.timers.values():
                timer.kill(block=False)
            for run in self.agent_runs.values():
                run.kill(block=False)

    def _run(self) -> None:
        self.log.info(
            "call %s: %s %s call from %s to %s",
            self.info.uuid,
            self.info.direction.value,
            self.info.call_type.value,
            self.info.caller,
            self.info.callee,
        )
        self.sock.on_event(self._receive)
        pending = self.session.start(self.c.clock())
        if not self._subscribe():
            pending = pending[:1] + self.session.refuse("socket application without 'full'", self.c.clock())
        self._execute(pending)
        while not self.done:
            item = self.inbox.get()
            try:
                self._execute(self.session.handle(item, self.c.clock()))
            except Exception as exc:  # a bug in one call must neither kill it silently nor touch others
                self.log.exception("call %s: failed handling %s", self.info.uuid, type(item).__name__)
                self._record(a.RecordEvent("controller_error", self.c.clock(), {"error": repr(exc)[:300]}))
                if (
                    isinstance(item, a.ConnectionLost)
                    or getattr(item, "name", "") == "CHANNEL_HANGUP_COMPLETE"
                ):
                    self._record(a.RecordEnd(self.c.clock(), self.session.hangup_cause, None, None, "failed"))
                    self.done = True
        self._say_goodbye_to_socket()

    def _receive(self, item: Event | Notice) -> None:
        if isinstance(item, Notice):
            disposition = item.headers.get("Content-Disposition", "")
            if disposition == "linger":
                return
            self.inbox.put(a.ConnectionLost(item.body.strip() or disposition or "disconnected"))
            return
        self.inbox.put(item)

    def _subscribe(self) -> bool:
        subscription = commands.subscribe(SUBSCRIBED_EVENTS, CUSTOM_SUBCLASSES)
        for command in ("myevents", subscription, commands.linger()):
            try:
                reply = self.sock.send_message(command)
            except (gs.NotConnectedError, CommandTimeout) as exc:
                self.inbox.put(a.ConnectionLost(str(exc)))
                return True
            if not reply_ok(reply):
                self.log.error(
                    "call %s: FreeSWITCH refused %r (%s): the dialplan must use 'socket <host:port> async full'",
                    self.info.uuid,
                    command.split(maxsplit=1)[0],
                    reply_text(reply),
                )
                return False
        return True

    def _execute(self, pending: list[a.Action]) -> None:
        queue = list(pending)
        while queue:
            action = queue.pop(0)
            follow_up = self._perform(action)
            if follow_up is not None:
                queue.extend(self.session.handle(follow_up, self.c.clock()))

    def _perform(self, action: a.Action) -> Inbox | None:
        match action:
            case a.Api(tag, command):
                return self._send(tag, commands.api(command), None)
            case a.SendMsg(tag, headers):
                return self._send(tag, "sendmsg", dict(headers))
            case a.Render(tag, text, rate):
                gevent.spawn(self._render, tag, text, rate)
            case a.StartTimer(name, seconds):
                self._cancel(name)
                self.timers[name] = gevent.spawn_later(seconds, self.inbox.put, a.TimerFired(name))
            case a.CancelTimer(name):
                self._cancel(name)
            case a.RunAgent(turn, context, event):
                self.agent_runs[turn] = gevent.spawn(self._drive_agent, turn, context, event)
            case a.Rehearse(context, event, rate):
                gevent.spawn(self._rehearse, context, event, rate)
            case a.CancelAgent(turn):
                run = self.agent_runs.pop(turn, None)
                if run is not None:
                    run.kill(block=False)
            case a.Finish():
                self.done = True
            case _:
                self._record(action)
        return None

    def _send(self, tag: str, command: str, headers: dict[str, str] | None) -> Inbox | None:
        sent_at = self.c.clock()
        try:
            reply = self.sock.send_message(command, headers)
        except CommandTimeout as exc:
            return a.CommandResult(tag, False, str(exc), sent_at)
        except gs.NotConnectedError as exc:
            return a.ConnectionLost(str(exc))
        return a.CommandResult(tag, reply_ok(reply), reply_text(reply), sent_at)

    def _drive_agent(self, turn: int, context: CallContext, event: Input) -> None:
        """Pull the agent's actions one by one, so the first sentence is spoken before the last exists."""
        try:
            if self.agent is None:
                self.agent = self.c.agents.agent_for(context, self.info.flow)
            actions = self.agent.respond(context, event)
            try:
                for action in actions:
                    self.inbox.put(a.AgentOutput(turn, action))
            finally:
                close = getattr(actions, "close", None)
                if close is not None:
                    close()
        except gevent.GreenletExit:
            return
        except Exception as exc:  # a broken agent must not take the call down: the caller hears the fallback
            self.log.exception("call %s: the agent failed on turn %d", self.info.uuid, turn)
            self.inbox.put(a.AgentOutput(turn, AgentError("crash", f"{type(exc).__name__}: {exc}")))
            self.inbox.put(a.AgentOutput(turn, Say(self.c.policy.goodbye)))
            self.inbox.put(a.AgentOutput(turn, Hangup("NORMAL_TEMPORARY_FAILURE")))
        finally:
            self.agent_runs.pop(turn, None)
        self.inbox.put(a.AgentDone(turn))

    def _rehearse(self, context: CallContext, event: Input, rate: int) -> None:
        """Render the first sentences the agent would answer, so the real reply finds them in the cache."""
        try:
            sentences = rehearsed_sentences(self.agent, context, event)
            for sentence in sentences:
                gevent.get_hub().threadpool.apply(self.c.speech.render, (sentence, rate))
        except Exception:  # only a head start was lost: the real turn renders as usual
            self.log.exception("call %s: rehearsing the reply failed", self.info.uuid)
            return
        self.log.debug("call %s: rehearsed %d sentence(s) of the next reply", self.info.uuid, len(sentences))

    def _render(self, tag: str, text: str, rate: int) -> None:
        try:
            path, duration = gevent.get_hub().threadpool.apply(self.c.speech.render, (text, rate))
        except Exception as exc:  # a broken voice must not kill the call: the session says what happens
            self.log.exception("call %s: rendering %r failed", self.info.uuid, text[:60])
            self.inbox.put(a.SpeechReady(tag, None, error=f"{type(exc).__name__}: {exc}"))
            return
        try:
            levels = tuple(gevent.get_hub().threadpool.apply(wav_reference_levels, (path,)))
        except (OSError, EOFError, ValueError) as exc:  # the worker then guards on text alone
            self.log.warning("call %s: no echo reference for %s: %s", self.info.uuid, path, exc)
            levels = ()
        self.inbox.put(a.SpeechReady(tag, path, duration_ms=duration, levels=levels))

    def _cancel(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.kill(block=False)

    def _record(self, action: a.Action) -> None:
        uuid = self.info.uuid
        for attempt in range(1, self.c.record_attempts + 1):
            try:
                self._write_record(action)
                return
            except Exception:
                self.log.exception(
                    "call %s: writing %s to the call log failed (attempt %d)",
                    uuid,
                    type(action).__name__,
                    attempt,
                )
                gevent.sleep(0.2 * attempt)

    def _write_record(self, action: a.Action) -> None:
        r, uuid = self.c.recorder, self.info.uuid
        match action:
            case a.RecordStart(created_at):
                r.start_call(
                    NewCall(
                        uuid=uuid,
                        direction=self.info.direction.value,
                        call_type=self.info.call_type.value,
                        caller=self.info.caller,
                        callee=self.info.callee,
                        gateway=self.info.gateway,
                        campaign_ref=self.info.campaign_ref,
                        created_at=created_at,
                    )
                )
            case a.RecordAnswered(at):
                r.mark_answered(uuid, at)
            case a.RecordEvent(name, at, detail):
                r.add_event(uuid, name, at, dict(detail))
            case a.RecordTurn(speaker, text, started, ended, interrupted, heard, timings):
                r.add_turn(
                    uuid,
                    speaker=speaker,
                    text=text,
                    started_at=started,
                    ended_at=ended,
                    interrupted=interrupted,
                    heard_ms=heard,
                    timings=dict(timings),
                )
                metrics.turn_recorded(self.info.call_type.value, timings)
            case a.RecordEnd(at, cause, billsec, duration, state):
                r.end_call(uuid, at=at, hangup_cause=cause, billsec=billsec, duration=duration, state=state)
                metrics.call_finished(self.info.call_type.value, state, cause)

    def _say_goodbye_to_socket(self) -> None:
        if self.sock.connected:
            try:
                self.sock.send_message("exit", timeout=2)
            except (gs.NotConnectedError, CommandTimeout):
                pass
        self.sock.close()
        self.log.info("call %s: session closed", self.info.uuid)
