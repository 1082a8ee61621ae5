"""One call as a pure state machine: ESL events and results in, actions out (no sockets, no clock).

The controller feeds it the channel's events, the results of the commands it asked for, rendered speech
and timers, and carries out the actions it returns. Tests drive it directly.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.control import actions as a
from app.control.callinfo import CallInfo, codec_rate, event_time, int_variable, speech_rate
from app.esl import commands
from app.esl.protocol import Event

log = logging.getLogger(__name__)

AUDIO_STREAM_SUBCLASSES = (
    "mod_audio_stream::json",
    "mod_audio_stream::connect",
    "mod_audio_stream::disconnect",
    "mod_audio_stream::error",
)
SUBSCRIBED_EVENTS = ("PLAYBACK_START", "PLAYBACK_STOP", "BACKGROUND_JOB")


@dataclass(frozen=True)
class SessionPolicy:
    """How every call behaves; built from the settings."""

    media_url: str
    greeting: str
    goodbye: str
    stream_rate: int | None = None  # None: the call's own rate (8 kHz narrowband, 16 kHz wideband)
    no_input_timeout: float = 8.0
    max_no_input: int = 2
    answer_timeout: float = 15.0


class Phase(enum.Enum):
    ANSWERING = "answering"
    ACTIVE = "active"
    CLOSING = "closing"  # the goodbye is playing; hang up when it ends
    HANGING_UP = "hanging_up"
    ENDED = "ended"


@dataclass
class _Speech:
    text: str
    path: Path | None = None
    duration_ms: int | None = None
    started_at: datetime | None = None
    started_us: int | None = None


class CallSession:
    """The life of one call from ``connect`` to ``CHANNEL_HANGUP_COMPLETE``."""

    def __init__(self, info: CallInfo, policy: SessionPolicy) -> None:
        self.info = info
        self.policy = policy
        self.phase = Phase.ANSWERING
        self.listening = False
        self.hangup_cause: str | None = None
        self._rate = info.rate
        self._speech: dict[str, _Speech] = {}
        self._playing: list[str] = []  # tags broadcast and not yet stopped, FIFO
        self._counter = 0
        self._no_input_count = 0
        self._log = logging.LoggerAdapter(log, {"call": info.uuid})

    # --- inputs -------------------------------------------------------------------------------------

    def start(self, now: datetime) -> list[a.Action]:
        out: list[a.Action] = [a.RecordStart(created_at=now)]
        if self.info.answered:
            return out + self._answered(now)
        out.append(a.SendMsg("answer", dict(commands.execute("answer")[1])))
        out.append(a.StartTimer("answer", self.policy.answer_timeout))
        return out

    def refuse(self, reason: str, now: datetime) -> list[a.Action]:
        """The controller cannot run this call (e.g. the dialplan's socket lacks ``full``): hang up."""
        self._log.error("call %s: refusing the call: %s", self.info.uuid, reason)
        return [a.RecordEvent("call_refused", now, {"reason": reason}), *self._hangup("SERVICE_UNAVAILABLE")]

    def handle(
        self, item: Event | a.CommandResult | a.SpeechReady | a.TimerFired | a.ConnectionLost, now: datetime
    ) -> list[a.Action]:
        if self.phase is Phase.ENDED:
            return []
        if isinstance(item, Event):
            return self._on_event(item, now)
        if isinstance(item, a.CommandResult):
            return self._on_result(item, now)
        if isinstance(item, a.SpeechReady):
            return self._on_speech_ready(item, now)
        if isinstance(item, a.TimerFired):
            return self._on_timer(item.name, now)
        return self._on_connection_lost(item.reason, now)

    # --- events -------------------------------------------------------------------------------------

    def _on_event(self, event: Event, now: datetime) -> list[a.Action]:
        if event.unique_id and event.unique_id != self.info.uuid:
            return []
        at = event_time(event, now)
        name = event.name
        if name == "CHANNEL_ANSWER":
            self._rate = codec_rate(event) or self._rate
            if self.phase is Phase.ANSWERING:
                return [a.CancelTimer("answer"), *self._answered(at)]
            return []
        if name == "PLAYBACK_START":
            return self._on_playback_start(event, at)
        if name == "PLAYBACK_STOP":
            return self._on_playback_stop(event, at)
        if name == "DTMF":
            digit = event.get("DTMF-Digit", "") or ""
            return [a.RecordEvent("DTMF", at, {"digit": digit, "duration": event.get("DTMF-Duration")})]
        if name == "CUSTOM" and event.subclass.startswith("mod_audio_stream::"):
            return self._on_audio_stream(event, at)
        if name == "CHANNEL_HANGUP":
            return self._on_hangup(event, at)
        if name == "CHANNEL_HANGUP_COMPLETE":
            return self._on_hangup_complete(event, at)
        return []

    def _answered(self, at: datetime) -> list[a.Action]:
        self.phase = Phase.ACTIVE
        rate = self.policy.stream_rate or speech_rate(self._rate, self.info.call_type)
        metadata = {
            "uuid": self.info.uuid,
            "call_type": self.info.call_type.value,
            "direction": self.info.direction.value,
            "caller": commands.plain_text(self.info.caller or ""),
            "rate": rate,
        }
        url = f"{self.policy.media_url}/call/{self.info.uuid}"
        start_stream = commands.audio_stream_start(self.info.uuid, url, "mono", rate, metadata)
        return [
            a.RecordAnswered(at),
            a.RecordEvent("CHANNEL_ANSWER", at, {"rate": self._rate}),
            a.Api("stream", start_stream),
            *self._say(self.policy.greeting),
        ]

    def _on_audio_stream(self, event: Event, at: datetime) -> list[a.Action]:
        kind = event.subclass.removeprefix("mod_audio_stream::")
        if kind == "connect":
            self.listening = True
            return [a.RecordEvent("audio_stream_connected", at)]
        if kind in ("error", "disconnect"):
            self.listening = False
            self._log.warning("call %s: audio stream %s: %s", self.info.uuid, kind, event.body)
            return [a.RecordEvent(f"audio_stream_{kind}", at, {"body": event.body[:500]})]
        try:
            message = json.loads(event.body)
        except ValueError:
            self._log.warning("call %s: worker sent non-JSON text: %r", self.info.uuid, event.body[:200])
            return [a.RecordEvent("worker_message_invalid", at, {"body": event.body[:500]})]
        if not isinstance(message, dict):
            return [a.RecordEvent("worker_message_invalid", at, {"body": event.body[:500]})]
        return self._on_worker_message(message, at)

    def _on_worker_message(self, message: dict[str, object], at: datetime) -> list[a.Action]:
        kind = str(message.get("type", ""))
        if kind == "speech_started":
            self._no_input_count = 0
            return [a.CancelTimer("no_input"), a.RecordEvent("speech_started", at)]
        if kind == "utterance":
            text = str(message.get("text", "")).strip()
            self._no_input_count = 0
            out: list[a.Action] = [a.CancelTimer("no_input")]
            if text:
                out.append(a.RecordTurn("caller", text, None, at, timings=_timings(message)))
            if not self._playing and self.phase is Phase.ACTIVE:
                out.append(a.StartTimer("no_input", self.policy.no_input_timeout))
            return out
        return []

    def _on_playback_start(self, event: Event, at: datetime) -> list[a.Action]:
        tag = self._tag_for(event.get("Playback-File-Path", "") or "")
        if tag is None:
            return []
        speech = self._speech[tag]
        speech.started_at = at
        stamp = event.get("Event-Date-Timestamp") or ""
        speech.started_us = int(stamp) if stamp.isdigit() else None
        return [a.RecordEvent("PLAYBACK_START", at, {"file": str(speech.path)})]

    def _on_playback_stop(self, event: Event, at: datetime) -> list[a.Action]:
        tag = self._tag_for(event.get("Playback-File-Path", "") or "")
        if tag is None:
            return []
        speech = self._speech.pop(tag)
        self._playing.remove(tag)
        status = event.get("Playback-Status", "done") or "done"
        interrupted = status != "done"
        heard = _heard_ms(speech, event, interrupted)
        out: list[a.Action] = [
            a.RecordEvent("PLAYBACK_STOP", at, {"file": str(speech.path), "status": status}),
            a.RecordTurn("agent", speech.text, speech.started_at, at, interrupted, heard),
        ]
        if not self._playing:
            out += self._speech_finished()
        return out

    def _speech_finished(self) -> list[a.Action]:
        out: list[a.Action] = []
        if self.listening:
            text = commands.audio_stream_send_text(self.info.uuid, {"type": "playback", "on": False})
            out.append(a.Api("playback_off", text))
        if self.phase is Phase.CLOSING:
            out += self._hangup("NORMAL_CLEARING")
        elif self.phase is Phase.ACTIVE:
            out.append(a.StartTimer("no_input", self.policy.no_input_timeout))
        return out

    def _on_hangup(self, event: Event, at: datetime) -> list[a.Action]:
        self.hangup_cause = event.get("Hangup-Cause") or self.hangup_cause
        self.phase = Phase.HANGING_UP
        return [
            a.CancelTimer("no_input"),
            a.CancelTimer("answer"),
            a.RecordEvent("CHANNEL_HANGUP", at, {"cause": self.hangup_cause}),
        ]

    def _on_hangup_complete(self, event: Event, at: datetime) -> list[a.Action]:
        self.hangup_cause = event.get("Hangup-Cause") or self.hangup_cause
        self.phase = Phase.ENDED
        billsec, duration = int_variable(event, "billsec"), int_variable(event, "duration")
        return [
            a.CancelTimer("no_input"),
            a.CancelTimer("answer"),
            a.RecordEvent("CHANNEL_HANGUP_COMPLETE", at, {"cause": self.hangup_cause, "billsec": billsec}),
            a.RecordEnd(at, self.hangup_cause, billsec, duration),
            a.Finish(),
        ]

    # --- results, speech, timers, loss ----------------------------------------------------------------

    def _on_result(self, result: a.CommandResult, now: datetime) -> list[a.Action]:
        if result.ok:
            return []
        self._log.error("call %s: %s failed: %s", self.info.uuid, result.tag, result.text)
        out: list[a.Action] = [
            a.RecordEvent("command_failed", now, {"command": result.tag, "reply": result.text})
        ]
        if result.tag == "answer" and self.phase is Phase.ANSWERING:
            out += self._hangup("NORMAL_TEMPORARY_FAILURE")
        elif result.tag == "stream":
            self.listening = False
        elif result.tag.startswith("say:") and result.tag in self._speech:
            del self._speech[result.tag]
            self._playing.remove(result.tag)
            if not self._playing:
                out += self._speech_finished()
        return out

    def _on_speech_ready(self, ready: a.SpeechReady, now: datetime) -> list[a.Action]:
        speech = self._speech.get(ready.tag)
        if speech is None or self.phase in (Phase.HANGING_UP, Phase.ENDED):
            return []
        if ready.path is None:
            self._log.error("call %s: speech could not be rendered: %s", self.info.uuid, ready.error)
            del self._speech[ready.tag]
            out: list[a.Action] = [a.RecordEvent("tts_failed", now, {"error": ready.error or ""})]
            return out + (self._speech_finished() if not self._playing else [])
        speech.path = ready.path
        speech.duration_ms = ready.duration_ms
        self._playing.append(ready.tag)
        out = [a.CancelTimer("no_input")]
        if self.listening and len(self._playing) == 1:
            payload = {"type": "playback", "on": True}
            out.append(a.Api("playback_on", commands.audio_stream_send_text(self.info.uuid, payload)))
        out.append(a.Api(ready.tag, commands.uuid_broadcast(self.info.uuid, str(ready.path))))
        return out

    def _on_timer(self, name: str, now: datetime) -> list[a.Action]:
        if name == "answer" and self.phase is Phase.ANSWERING:
            return [a.RecordEvent("answer_timeout", now), *self._hangup("RECOVERY_ON_TIMER_EXPIRE")]
        if name == "no_input" and self.phase is Phase.ACTIVE and not self._playing:
            self._no_input_count += 1
            out: list[a.Action] = [a.RecordEvent("no_input", now, {"count": self._no_input_count})]
            if self._no_input_count >= self.policy.max_no_input:
                self.phase = Phase.CLOSING
                return out + self._say(self.policy.goodbye)
            return [*out, a.StartTimer("no_input", self.policy.no_input_timeout)]
        return []

    def _on_connection_lost(self, reason: str, now: datetime) -> list[a.Action]:
        self._log.error("call %s: lost the FreeSWITCH socket: %s", self.info.uuid, reason)
        self.phase = Phase.ENDED
        return [
            a.CancelTimer("no_input"),
            a.CancelTimer("answer"),
            a.RecordEvent("esl_connection_lost", now, {"reason": reason}),
            a.RecordEnd(now, self.hangup_cause, None, None, state="failed"),
            a.Finish(),
        ]

    # --- helpers ------------------------------------------------------------------------------------

    def _say(self, text: str) -> list[a.Action]:
        self._counter += 1
        tag = f"say:{self._counter}"
        self._speech[tag] = _Speech(text=text)
        return [a.Render(tag, text, speech_rate(self._rate, self.info.call_type))]

    def _hangup(self, cause: str) -> list[a.Action]:
        self.phase = Phase.HANGING_UP
        return [a.CancelTimer("no_input"), a.SendMsg("hangup", dict(commands.hangup_message(cause)[1]))]

    def _tag_for(self, path: str) -> str | None:
        for tag in self._playing:
            speech = self._speech.get(tag)
            if speech is not None and str(speech.path) == path:
                return tag
        return None


def _heard_ms(speech: _Speech, stop: Event, interrupted: bool) -> int | None:
    if not interrupted and speech.duration_ms is not None:
        return speech.duration_ms
    stamp = stop.get("Event-Date-Timestamp") or ""
    if speech.started_us is None or not stamp.isdigit():
        return None
    heard = max(0, (int(stamp) - speech.started_us) // 1000)
    return min(heard, speech.duration_ms) if speech.duration_ms is not None else heard


def _timings(message: dict[str, object]) -> dict[str, object]:
    return {
        k: v for k, v in message.items() if k not in ("type", "text") and isinstance(v, int | float | str)
    }
