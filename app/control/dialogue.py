"""The conversation inside a call: agent turns, sentence streaming, barge-in, echo, DTMF, no-input. Pure.

:class:`~app.control.session.CallSession` owns the channel's lifecycle and hands the conversation here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.control import actions as a
from app.control.phase import Phase
from app.control.playback import PAUSE_GUARD_SECONDS, AgentPause, play, playback_notice, worker_notice
from app.control.sentences import split_sentences
from app.control.speech import Piece, SpeechQueue
from app.control.turns import AgentTurn, looks_like_echo, words
from app.dialog import base as d
from app.esl import commands

if TYPE_CHECKING:
    from app.control.session import CallSession

log = logging.getLogger(__name__)
ECHO_MEMORY = 3  # agent turns whose words count as possible echo


def _us(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


@dataclass
class _DtmfCollector:
    max_digits: int
    timeout: float
    terminator: str | None
    digits: str = ""


@dataclass
class _CallerSpeech:
    """What the worker said about the caller's current utterance."""

    speaking: bool = False
    overlapped: bool = False  # started while the agent was audible
    barged: bool = False
    stopped_at_us: int | None = None
    eou_wait_ms: float = 0.0
    partial_words: int = 0


@dataclass
class Dialogue:
    session: CallSession
    variables: dict[str, str]
    speech: SpeechQueue = field(default_factory=SpeechQueue)
    turns: dict[int, AgentTurn] = field(default_factory=dict)
    current: int | None = None
    history: list[d.Turn] = field(default_factory=list)
    pending_end: d.Hangup | d.Transfer | None = None
    dtmf: _DtmfCollector | None = None
    caller: _CallerSpeech = field(default_factory=_CallerSpeech)
    no_input_count: int = 0
    recent_agent_texts: list[str] = field(default_factory=list)
    counter: int = 0
    worker_hears_agent: bool = False  # the worker was told the agent is playing (echo guard on)
    hold: AgentPause = field(init=False)  # pausing the agent on the caller's speech onset (uuid_fileman)

    def __post_init__(self) -> None:
        self.hold = AgentPause(self.uuid)

    @property
    def uuid(self) -> str:
        return self.session.info.uuid

    @property
    def paused(self) -> bool:
        """The agent's playback is paused on the caller's speech onset."""
        return self.hold.paused

    # --- agent turns --------------------------------------------------------------------------------

    def call_started(self, at: datetime) -> list[a.Action]:
        return self._run_agent(d.CallStarted(), "call_started", _us(at))

    def machine_answered(self, at: datetime) -> list[a.Action]:
        """An answering machine's greeting is over: the agent leaves its message."""
        return self._run_agent(d.MachineAnswered(), "voicemail", _us(at))

    def _context(self) -> d.CallContext:
        info = self.session.info
        return d.CallContext(
            uuid=info.uuid,
            direction=info.direction.value,
            call_type=info.call_type.value,
            caller=info.caller,
            callee=info.callee,
            variables=dict(self.variables),
            history=tuple(self.history),
        )

    def _run_agent(self, event: d.Input, trigger: str, origin_us: int, **marks: int) -> list[a.Action]:
        out: list[a.Action] = [a.CancelTimer("no_input"), a.CancelTimer("dtmf")]
        running = self.turns.get(self.current) if self.current is not None else None
        if running is not None and running.generating:
            running.generating = False
            out.append(a.CancelAgent(running.number))
        self.counter += 1
        turn = AgentTurn(self.counter, trigger, origin_us)
        for name, at_us in marks.items():
            turn.mark(name, at_us)
        self.turns[turn.number] = turn
        self.current = turn.number
        self.dtmf = None
        return [*out, a.RunAgent(turn.number, self._context(), event)]

    def on_agent_output(self, output: a.AgentOutput, now: datetime) -> list[a.Action]:
        turn = self.turns.get(output.turn)
        if turn is None or output.turn != self.current or not turn.generating:
            return []
        action = output.action
        match action:
            case d.Say(text=text):
                turn.mark("first_text", _us(now))
                return [self._render(turn, sentence) for sentence in split_sentences(text)]
            case d.Hangup() | d.Transfer():
                self.pending_end = action
            case d.SendDtmf(digits=digits):
                return [a.Api("send_dtmf", commands.uuid_send_dtmf(self.uuid, digits))]
            case d.CollectDtmf(max_digits=m, timeout=t, terminator=term):
                self.dtmf = _DtmfCollector(m, t, term)
            case d.AgentError(kind=kind, detail=detail):
                turn.errors.append(kind)
                return [a.RecordEvent("agent_error", now, {"kind": kind, "detail": detail[:300]})]
        return []

    def on_agent_done(self, number: int, now: datetime) -> list[a.Action]:
        turn = self.turns.get(number)
        if turn is None or not turn.generating:
            return []
        turn.generating = False
        return self._maybe_close(turn, now)

    def _render(self, turn: AgentTurn, text: str) -> a.Action:
        piece = self.speech.add(turn.number, text)
        return a.Render(piece.tag, text, self.session.speech_rate)

    # --- speech out ---------------------------------------------------------------------------------

    def on_speech_ready(self, ready: a.SpeechReady, now: datetime) -> list[a.Action]:
        piece = self.speech.get(ready.tag)
        if piece is None:
            return []  # dropped by a barge-in while it was rendering
        turn = self.turns[piece.turn]
        if ready.path is None:
            self.session.log.error("call %s: speech could not be rendered: %s", self.uuid, ready.error)
            self.speech.remove(ready.tag, "failed")
            turn.errors.append("tts")
            out: list[a.Action] = [a.RecordEvent("tts_failed", now, {"error": ready.error or ""})]
            return out + self._maybe_close(turn, now)
        out = []
        ready_pieces = self.speech.rendered(ready.tag, ready.path, ready.duration_ms, ready.levels)
        if ready_pieces:  # the turn's first piece in speaking order is rendered (a later one may be earlier)
            turn.mark("first_audio", _us(now))
        self.session.log.debug(
            "call %s: %s rendered; broadcasting %s", self.uuid, ready.tag, [p.tag for p in ready_pieces]
        )
        for ready_piece in ready_pieces:
            # The worker hears first, so its echo reference is in place before the audio comes back.
            if self.session.listening:
                self.worker_hears_agent = True
                out.append(self._notice("playback_on", playback_notice(ready_piece)))
            out.append(play(self.uuid, ready_piece, self.session.policy.playback_command))
        return out

    def on_listening(self, at: datetime) -> list[a.Action]:
        """The worker's stream has just connected: tell it what is already playing or queued.

        A greeting rendered ahead of time is broadcast the moment the call is answered, before the stream
        is up; without this the worker would take its echo for the caller.
        """
        out: list[a.Action] = []
        for piece in self.speech.broadcast():
            self.worker_hears_agent = True
            out.append(self._notice("playback_on", playback_notice(piece)))
            if piece.started_us is not None:
                elapsed_ms = max(0, (_us(at) - piece.started_us) // 1000)
                started = {"type": "playback_started", "id": piece.tag, "elapsed_ms": elapsed_ms}
                out.append(self._notice("playback_started", started))
        return out

    def on_broadcast_result(self, result: a.CommandResult, now: datetime) -> list[a.Action]:
        piece = self.speech.get(result.tag)
        if piece is None:
            return []
        turn = self.turns[piece.turn]
        if result.ok:
            turn.mark("broadcast_sent", _us(result.sent_at or now))
            return []
        self.session.log.error("call %s: broadcast failed: %s", self.uuid, result.text)
        self.speech.remove(result.tag, "failed")
        turn.errors.append("broadcast")
        out: list[a.Action] = [
            a.RecordEvent("command_failed", now, {"command": "playback", "reply": result.text})
        ]
        return out + self._maybe_close(turn, now)

    def on_playback_start(self, path: str, at: datetime) -> list[a.Action]:
        piece = self.speech.started(path, _us(at))
        if piece is None:
            return []
        turn = self.turns[piece.turn]
        turn.mark("playback_started", _us(at))
        if turn.started_us is None:
            turn.started_us = _us(at)
        out: list[a.Action] = [a.RecordEvent("PLAYBACK_START", at, {"file": path})]
        if self.worker_hears_agent:
            out.append(self._notice("playback_started", {"type": "playback_started", "id": piece.tag}))
        return out

    def on_playback_stop(self, path: str, status: str, at: datetime) -> list[a.Action]:
        piece = self.speech.stopped(path, _us(at), status)
        if piece is None:
            return []
        turn = self.turns[piece.turn]
        self._said(turn, piece)
        turn.ended_us = _us(at)
        out: list[a.Action] = [a.RecordEvent("PLAYBACK_STOP", at, {"file": path, "status": status})]
        return out + self._maybe_close(turn, at)

    def _said(self, turn: AgentTurn, piece: Piece) -> None:
        turn.add_said(piece.order, piece.text, piece.heard_ms, piece.duration_ms)
        if piece.status != "done":
            turn.interrupted = True

    def _maybe_close(self, turn: AgentTurn, now: datetime) -> list[a.Action]:
        """When a turn has nothing left to generate or play: record it and decide what happens next."""
        if turn.generating or self.speech.has_turn(turn.number) or turn.number not in self.turns:
            return []
        del self.turns[turn.number]
        return self._record(turn, now) + self._next_step(now)

    def _next_step(self, now: datetime) -> list[a.Action]:
        """The agent has stopped talking and thinking: end the call, or wait for the caller."""
        if self.session.phase is not Phase.ACTIVE or not self.speech.empty:
            return []
        running = self.turns.get(self.current) if self.current is not None else None
        if running is not None and running.generating:
            return []
        out: list[a.Action] = []
        out += self._worker_stops_hearing_agent()
        if isinstance(self.pending_end, d.Hangup):
            return out + self.session.hangup(self.pending_end.cause)
        if isinstance(self.pending_end, d.Transfer):
            return out + self.session.transfer(self.pending_end.destination, now)
        if self.caller.speaking:
            return out  # they are answered, or the silence timed, when their utterance ends
        if self.dtmf is not None:
            return [*out, a.StartTimer("dtmf", self.dtmf.timeout)]
        return [*out, a.StartTimer("no_input", self.session.policy.no_input_timeout)]

    def _notice(self, tag: str, payload: dict[str, object]) -> a.Api:
        return worker_notice(self.uuid, tag, payload)

    def _worker_stops_hearing_agent(self) -> list[a.Action]:
        if not self.worker_hears_agent:
            return []
        self.worker_hears_agent = False
        return [self._notice("playback_off", {"type": "playback", "on": False})]

    def _record(self, turn: AgentTurn, now: datetime) -> list[a.Action]:
        if not turn.said:
            return []
        self.history.append(
            d.Turn("agent", turn.text, turn.interrupted, turn.heard if turn.interrupted else None)
        )
        self.recent_agent_texts = [*self.recent_agent_texts, turn.text][-ECHO_MEMORY:]
        started = from_us(turn.started_us) if turn.started_us else None
        ended = from_us(turn.ended_us) if turn.ended_us else now
        return [
            a.RecordTurn("agent", turn.text, started, ended, turn.interrupted, turn.heard_ms, turn.timings())
        ]

    def flush_turns(self, now: datetime) -> list[a.Action]:
        """The call is over: record what each unfinished turn managed to say."""
        out: list[a.Action] = []
        for piece in self.speech.drop_unplayed():
            self._said(self.turns[piece.turn], piece)
        for turn in list(self.turns.values()):
            turn.generating = False
            del self.turns[turn.number]
            out += self._record(turn, now)
        return out

    def stop(self) -> list[a.Action]:
        """No more conversation (hangup, transfer): cancel the agent and the timers."""
        out: list[a.Action] = [a.CancelTimer("no_input"), a.CancelTimer("dtmf")]
        if self.current is not None and self.current in self.turns and self.turns[self.current].generating:
            self.turns[self.current].generating = False
            out.append(a.CancelAgent(self.current))
        return out

    # --- the caller ---------------------------------------------------------------------------------

    def on_worker_message(self, message: dict[str, object], at: datetime) -> list[a.Action]:
        kind = str(message.get("type", ""))
        if kind == "speech_onset":
            return self._pause(at)
        if kind == "speech_cancelled":
            return self._resume(at, "short_speech")
        if kind == "speech_started":
            self.caller = _CallerSpeech(speaking=True, overlapped=self.speech.playing)
            out: list[a.Action] = [a.CancelTimer("no_input"), a.RecordEvent("speech_started", at)]
            if self.caller.overlapped and self.session.policy.barge_in_min_words == 0:
                out += self._barge_in(at, "speech")
            return out
        if kind == "partial":
            self.caller.partial_words = len(words(str(message.get("text", ""))))
            return self._maybe_barge_on_words(self.caller.partial_words, at)
        if kind == "speech_stopped":
            self.caller.speaking = False
            self.caller.stopped_at_us = _us(at)
            self.caller.eou_wait_ms = _number(message.get("decided_ms")) - _number(message.get("end_ms"))
            # If no words follow (noise fooled the VAD), the silence must still end in a no-input.
            return self._next_step(at)
        if kind == "utterance":
            return self._on_utterance(message, at)
        if kind == "hypothesis" and self.session.policy.rehearse_replies and self.dtmf is None:
            text = str(message.get("text", "")).strip()
            if text:
                return [a.Rehearse(self._context(), d.Utterance(text), self.session.speech_rate)]
        return []

    def _on_utterance(self, message: dict[str, object], at: datetime) -> list[a.Action]:
        text = str(message.get("text", "")).strip()
        if not text:
            return []
        timings = {
            k: v for k, v in message.items() if k not in ("type", "text") and isinstance(v, int | float | str)
        }
        out: list[a.Action] = [a.RecordTurn("caller", text, None, at, timings=timings)]
        overlapped = self.caller.overlapped or self.speech.playing
        if overlapped and looks_like_echo(text, [*self.recent_agent_texts, *self.speech.texts()]):
            out.append(a.RecordEvent("echo_ignored", at, {"text": text[:200]}))
            return out + self._next_step(at)
        if self.speech.playing and not self.caller.barged:
            barge = self._maybe_barge_on_words(max(1, len(words(text))), at)
            if not barge:
                out.append(a.RecordEvent("backchannel", at, {"text": text[:200]}))
                return out + self._resume(at, "backchannel")
            out += barge
        self.no_input_count = 0
        decided_us = self.caller.stopped_at_us or _us(at)
        origin_us = decided_us - int(self.caller.eou_wait_ms * 1000)
        confidence = message.get("confidence")
        event = d.Utterance(text, float(confidence) if isinstance(confidence, int | float) else None)
        # The agent's context holds the history before this input; the utterance joins it afterwards.
        out += self._run_agent(
            event, "utterance", origin_us, eou_decided=decided_us, transcript_ready=_us(at)
        )
        self.history.append(d.Turn("caller", text))
        return out

    def _maybe_barge_on_words(self, count: int, at: datetime) -> list[a.Action]:
        needed = self.session.policy.barge_in_min_words
        if self.caller.barged or not self.speech.playing or needed == 0 or count < needed:
            return []
        return self._barge_in(at, "words")

    def _pause(self, at: datetime) -> list[a.Action]:
        """The caller may be starting to talk over the agent: hold the agent until the worker knows."""
        piece = self.speech.current()
        if not self.session.policy.barge_in_pause or self.caller.barged or piece is None:
            return []
        return self.hold.pause(piece, at, _us(at))

    def _resume(self, at: datetime, why: str) -> list[a.Action]:
        return self.hold.resume(self.speech.current(), at, _us(at), why)

    def on_pause_result(self, result: a.CommandResult, now: datetime) -> list[a.Action]:
        """``uuid_fileman pause`` failed (nothing was playing at that instant): we are not paused."""
        if result.ok or result.tag != "pause" or not self.paused:
            return []
        return self.hold.released(self.speech.current(), _us(now))

    def _barge_in(self, at: datetime, why: str) -> list[a.Action]:
        self.caller.barged = True
        out: list[a.Action] = [a.Api("break", commands.uuid_break(self.uuid, all_queued=True))]
        out += self.hold.broken()
        out += self._worker_stops_hearing_agent()
        for piece in self.speech.drop_unplayed():
            self._said(self.turns[piece.turn], piece)
        if self.current is not None and self.current in self.turns and self.turns[self.current].generating:
            self.turns[self.current].generating = False
            out.append(a.CancelAgent(self.current))
        self.pending_end = None
        return [*out, a.RecordEvent("barge_in", at, {"by": why})]

    def on_dtmf(self, digit: str, duration: str | None, at: datetime) -> list[a.Action]:
        out: list[a.Action] = [a.RecordEvent("DTMF", at, {"digit": digit, "duration": duration})]
        if self.dtmf is None:
            if self.speech.playing:
                out += self._barge_in(at, "dtmf")
            return out + self._run_agent(d.Dtmf(digit), "dtmf", _us(at))
        collector = self.dtmf
        if collector.terminator and digit == collector.terminator:
            return out + self._run_agent(d.Dtmf(collector.digits), "dtmf", _us(at))
        collector.digits += digit
        if len(collector.digits) >= collector.max_digits:
            return out + self._run_agent(d.Dtmf(collector.digits), "dtmf", _us(at))
        return [*out, a.StartTimer("dtmf", collector.timeout)]

    def on_timer(self, name: str, now: datetime) -> list[a.Action]:
        if name == "pause_guard":
            if self.caller.speaking:  # still deciding (words may be needed): keep holding
                return [a.StartTimer("pause_guard", PAUSE_GUARD_SECONDS)] if self.paused else []
            return self._resume(now, "timeout")
        if name == "dtmf" and self.dtmf is not None:
            digits = self.dtmf.digits
            event: d.Input = d.Dtmf(digits) if digits else d.NoInput()
            return self._run_agent(event, "dtmf" if digits else "no_input", _us(now))
        if name != "no_input" or not self.speech.empty:
            return []
        self.no_input_count += 1
        out: list[a.Action] = [a.RecordEvent("no_input", now, {"count": self.no_input_count})]
        if self.no_input_count > self.session.policy.max_no_input:
            return out + self._say_goodbye(now)
        return out + self._run_agent(d.NoInput(), "no_input", _us(now))

    def _say_goodbye(self, now: datetime) -> list[a.Action]:
        return self.say_and_hang_up(self.session.policy.goodbye, "no_input_limit", now)

    def say_and_hang_up(self, text: str, trigger: str, now: datetime) -> list[a.Action]:
        """Stop whatever the agent was doing, say ``text`` and hang up once it has played."""
        out = self.stop()
        self.pending_end = d.Hangup("NORMAL_CLEARING")
        return out + self.say(text, trigger, now)

    def say(self, text: str, trigger: str, now: datetime) -> list[a.Action]:
        """Say ``text`` as a turn of its own (not the agent's reply); then wait for the caller as usual."""
        self.counter += 1
        turn = AgentTurn(self.counter, trigger, _us(now), generating=False)
        self.turns[turn.number] = turn
        self.current = turn.number
        return [self._render(turn, sentence) for sentence in split_sentences(text)]


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)
