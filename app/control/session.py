"""One call as a pure state machine: ESL events and results in, actions out (no sockets, no clock).

The controller feeds it the channel's events, command results, rendered speech, the agent's streamed
actions and timers, and carries out what it returns. Tests drive it directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from app.control import actions as a
from app.control.amd import AmdAction, Next
from app.control.callinfo import (
    AMD_VERDICT_VARIABLE,
    CallInfo,
    codec_rate,
    event_time,
    int_variable,
    speech_rate,
)
from app.control.dialogue import Dialogue
from app.control.phase import Phase
from app.control.resume import Restored, resume
from app.control.screening import TICK_SECONDS, MachineScreen, Screened, avmd_command, avmd_start_message
from app.control.stream_recovery import StreamRecovery
from app.esl import commands
from app.esl.protocol import Event
from app.media import messages as worker_messages

log = logging.getLogger(__name__)

AUDIO_STREAM_SUBCLASSES = (
    "mod_audio_stream::json",
    "mod_audio_stream::connect",
    "mod_audio_stream::disconnect",
    "mod_audio_stream::error",
)
GREETING_MESSAGES = ("speech_started", "partial", "hypothesis", "speech_stopped", "utterance", "stt_rejected")
AVMD_BEEP = "avmd::beep"  # mod_avmd heard a voicemail beep (avmd_start on calls screened for machines)
CUSTOM_SUBCLASSES = (*AUDIO_STREAM_SUBCLASSES, AVMD_BEEP)
# Messages to the worker; the stream may have just gone (hang-up) and nothing depends on them.
NOTICE_TAGS = ("playback_on", "playback_off", "playback_started", "playback_paused", "playback_resumed")
SUBSCRIBED_EVENTS = ("PLAYBACK_START", "PLAYBACK_STOP", "BACKGROUND_JOB")
Item = Event | a.CommandResult | a.SpeechReady | a.TimerFired | a.ConnectionLost | a.AgentOutput | a.AgentDone


@dataclass(frozen=True)
class SessionPolicy:
    """How every call behaves; built from the settings."""

    media_url: str
    goodbye: str = "Thank you for calling. Goodbye."
    # Said when the caller's audio cannot be brought back to the worker (the call then ends).
    cannot_hear: str = "Sorry, I can no longer hear you on this line. Please call us again. Goodbye."
    stream_rate: int | None = None  # None: the call's own rate (8 kHz narrowband, 16 kHz wideband)
    no_input_timeout: float = 8.0
    max_no_input: int = 3  # in a row, after which the call ends politely whatever the agent does
    answer_timeout: float = 15.0
    barge_in_min_words: int = 0  # 0: the worker's echo-guarded speech_started is enough to stop the agent
    barge_in_pause: bool = True  # pause the agent at the caller's speech onset, before deciding
    rehearse_replies: bool = True  # render the reply to the worker's hypothesis before the end of turn
    playback_command: str = "execute"  # "execute": sendmsg playback; "broadcast": api uuid_broadcast
    transfer_context: str = "default"
    transfer_sip_profile: str = "external"


class CallSession:
    """The life of one call from ``connect`` to ``CHANNEL_HANGUP_COMPLETE``."""

    def __init__(
        self, info: CallInfo, policy: SessionPolicy, variables: dict[str, str] | None = None
    ) -> None:
        self.info = info
        self.policy = policy
        self.phase = Phase.ANSWERING
        self.listening = False
        self.hangup_cause: str | None = None
        self.rate = info.rate
        self.dialogue = Dialogue(self, variables or {})
        self.screen: MachineScreen | None = None
        # Speech that began before a "human" verdict is the callee's greeting ("Hello?"), which AMD
        # heard; its late transcript is not an answer to the agent's first words (worker audio ms).
        self.greeting_before_ms: float | None = None
        self.stream = StreamRecovery()
        self._stream_command = ""
        self.resumed: Restored | None = None  # set for a call taken back after a controller restart
        self.log = logging.LoggerAdapter(log, {"call": info.uuid})

    @property
    def speech_rate(self) -> int:
        return speech_rate(self.rate, self.info.call_type)

    # --- inputs -------------------------------------------------------------------------------------

    def start(self, now: datetime) -> list[a.Action]:
        if self.resumed is not None and self.info.answered:
            return resume(self, self.resumed, now)  # else it parked before its answer: start it afresh
        out: list[a.Action] = [a.RecordStart(created_at=now)]
        if self.info.answered:
            return out + self._answered(now)
        out.append(a.SendMsg("answer", dict(commands.execute("answer")[1])))
        out.append(a.StartTimer("answer", self.policy.answer_timeout))
        return out

    def refuse(self, reason: str, now: datetime) -> list[a.Action]:
        """The controller cannot run this call (e.g. the dialplan's socket lacks ``full``): hang up."""
        self.log.error("call %s: refusing the call: %s", self.info.uuid, reason)
        return [a.RecordEvent("call_refused", now, {"reason": reason}), *self.hangup("SERVICE_UNAVAILABLE")]

    def handle(self, item: Item, now: datetime) -> list[a.Action]:
        if self.phase is Phase.ENDED:
            return []
        match item:
            case Event():
                return self._on_event(item, now)
            case a.CommandResult():
                return self._on_result(item, now)
            case a.SpeechReady():
                return self.dialogue.on_speech_ready(item, now)
            case a.TimerFired(name="answer") if self.phase is Phase.ANSWERING:
                return [a.RecordEvent("answer_timeout", now), *self.hangup("RECOVERY_ON_TIMER_EXPIRE")]
            case a.TimerFired(name="amd") if self.screen is not None:
                return self._screened(self.screen.tick(now), now)
            case a.TimerFired(name="stream_retry"):
                return self._restart_stream(now)
            case a.TimerFired(name="no_input") if self.stream.recovering:
                # Deaf, not silent: the caller may be talking while the stream is restarted.
                return [a.StartTimer("no_input", self.policy.no_input_timeout)]
            case a.TimerFired(name=name):
                return self.dialogue.on_timer(name, now)
            case a.AgentOutput():
                return self.dialogue.on_agent_output(item, now)
            case a.AgentDone():
                return self.dialogue.on_agent_done(item.turn, now)
            case a.ConnectionLost():
                return self._on_connection_lost(item.reason, now)
        return []

    # --- events -------------------------------------------------------------------------------------

    def _on_event(self, event: Event, now: datetime) -> list[a.Action]:
        if event.unique_id and event.unique_id != self.info.uuid:
            return []
        at = event_time(event, now)
        name = event.name
        if name == "CHANNEL_ANSWER":
            self.rate = codec_rate(event) or self.rate
            if self.phase is Phase.ANSWERING:
                return [a.CancelTimer("answer"), *self._answered(at)]
            return []
        if name == "PLAYBACK_START":
            return self.dialogue.on_playback_start(event.get("Playback-File-Path") or "", at)
        if name == "PLAYBACK_STOP":
            status = event.get("Playback-Status") or "done"
            return self.dialogue.on_playback_stop(event.get("Playback-File-Path") or "", status, at)
        if name == "DTMF":
            return self.dialogue.on_dtmf(event.get("DTMF-Digit") or "", event.get("DTMF-Duration"), at)
        if name == "CUSTOM" and event.subclass.startswith("mod_audio_stream::"):
            return self._on_audio_stream(event, at)
        if name == "CUSTOM" and event.subclass == AVMD_BEEP:
            return self._on_beep(event, at)
        if name == "CHANNEL_HANGUP":
            self.hangup_cause = event.get("Hangup-Cause") or self.hangup_cause
            if self.phase is not Phase.TRANSFERRED:
                self.phase = Phase.HANGING_UP
            return [*self.dialogue.stop(), a.RecordEvent("CHANNEL_HANGUP", at, {"cause": self.hangup_cause})]
        if name == "CHANNEL_HANGUP_COMPLETE":
            return self._on_hangup_complete(event, at)
        return []

    def _answered(self, at: datetime) -> list[a.Action]:
        self.phase = Phase.ACTIVE
        out: list[a.Action] = [
            a.RecordAnswered(at),
            a.RecordEvent("CHANNEL_ANSWER", at, {"rate": self.rate}),
            self.start_stream(),
        ]
        if self.info.amd is not None:
            self.screen = MachineScreen(AmdAction(self.info.amd), at)
            return [*out, a.SendMsg("avmd", avmd_start_message()), a.StartTimer("amd", TICK_SECONDS)]
        return out + self.dialogue.call_started(at)

    def start_stream(self) -> a.Api:
        """The ``uuid_audio_stream ... start`` to the worker (kept: restarts send it again)."""
        rate = self.policy.stream_rate or self.speech_rate
        metadata = {
            "uuid": self.info.uuid,
            "call_type": self.info.call_type.value,
            "direction": self.info.direction.value,
            "caller": commands.plain_text(self.info.caller or ""),
            "rate": rate,
        }
        url = f"{self.policy.media_url}/call/{self.info.uuid}"
        start_stream = commands.audio_stream_start(self.info.uuid, url, "mono", rate, metadata)
        self._stream_command = start_stream
        return a.Api("stream", start_stream)

    def _screened(self, result: Screened | None, now: datetime) -> list[a.Action]:
        """Answering-machine screening: keep listening, or act on the verdict."""
        if self.screen is None or self.phase is not Phase.ACTIVE:
            return []
        out: list[a.Action] = []
        if result is not None and result.decision is not None:
            verdict = result.decision.verdict.value
            out += [
                a.RecordEvent("amd", now, {"verdict": verdict, "reason": result.decision.reason}),
                a.Api("amd_verdict", commands.uuid_setvar(self.info.uuid, AMD_VERDICT_VARIABLE, verdict)),
            ]
        if result is None or result.next is Next.WAIT_FOR_GREETING_END:
            return [*out, a.StartTimer("amd", TICK_SECONDS)]
        if result.next not in (Next.HANGUP, Next.LEAVE_VOICEMAIL):
            self.greeting_before_ms = self.screen.audio_ms(now)
        self.screen = None
        out.append(a.Api("avmd", avmd_command(self.info.uuid, "stop")))
        if result.next is Next.HANGUP:
            return out + self.hangup("NORMAL_CLEARING")
        if result.next is Next.LEAVE_VOICEMAIL:
            return out + self.dialogue.machine_answered(now)
        return out + self.dialogue.call_started(now)

    def _on_audio_stream(self, event: Event, at: datetime) -> list[a.Action]:
        kind = event.subclass.removeprefix("mod_audio_stream::")
        if kind == "connect":
            self.listening = True
            if self.screen is not None:
                self.screen.stream_connected(at)
            name = "audio_stream_recovered" if self.stream.connected() else "audio_stream_connected"
            return [a.RecordEvent(name, at), *self.dialogue.on_listening(at)]
        if kind in ("error", "disconnect"):
            self.listening = False
            self.log.warning("call %s: audio stream %s: %s", self.info.uuid, kind, event.body)
            return [
                a.RecordEvent(f"audio_stream_{kind}", at, {"body": event.body[:500]}),
                *self._stream_lost(at),
            ]
        try:
            message = worker_messages.read(event.body)  # finite numbers, no NaN, not nested too deeply
        except worker_messages.MessageError:
            message = None
        if not isinstance(message, dict):
            self.log.warning("call %s: worker sent a bad message: %r", self.info.uuid, event.body[:200])
            return [a.RecordEvent("worker_message_invalid", at, {"body": event.body[:500]})]
        if self.screen is not None:
            return [a.CancelTimer("amd"), *self._screened(self.screen.feed(message, at), at)]
        if self._is_screened_greeting(message):
            return [a.RecordEvent("greeting_heard_by_amd", at, {"type": str(message.get("type"))})]
        return self.dialogue.on_worker_message(message, at)

    def _is_screened_greeting(self, message: dict[str, object]) -> bool:
        start = message.get("start_ms")
        if self.greeting_before_ms is None or not isinstance(start, int | float):
            return False
        return message.get("type") in GREETING_MESSAGES and start < self.greeting_before_ms

    def _on_beep(self, event: Event, at: datetime) -> list[a.Action]:
        detail = {"frequency": event.get("Frequency") or ""}
        if self.screen is None:
            return [a.RecordEvent("avmd_beep", at, detail)]
        screened = self._screened(self.screen.beep(at), at)
        return [a.RecordEvent("avmd_beep", at, detail), a.CancelTimer("amd"), *screened]

    def _on_hangup_complete(self, event: Event, at: datetime) -> list[a.Action]:
        self.hangup_cause = event.get("Hangup-Cause") or self.hangup_cause
        self.phase = Phase.ENDED
        billsec, duration = int_variable(event, "billsec"), int_variable(event, "duration")
        return [
            *self.dialogue.stop(),
            a.RecordEvent("CHANNEL_HANGUP_COMPLETE", at, {"cause": self.hangup_cause, "billsec": billsec}),
            *self.dialogue.flush_turns(at),
            a.RecordEnd(at, self.hangup_cause, billsec, duration),
            a.Finish(),
        ]

    # --- results and loss ---------------------------------------------------------------------------

    def _on_result(self, result: a.CommandResult, now: datetime) -> list[a.Action]:
        if result.tag.startswith("say:"):
            return self.dialogue.on_broadcast_result(result, now)
        if result.ok:
            return []
        if result.tag == "pause":
            return self.dialogue.on_pause_result(result, now)
        if result.tag in NOTICE_TAGS or result.tag in ("resume", "avmd", "stream_stop"):
            # A notice to the worker; the stream may have just gone (hang-up). Nothing depends on it.
            self.log.warning("call %s: %s not delivered: %s", self.info.uuid, result.tag, result.text)
            return []
        self.log.error("call %s: %s failed: %s", self.info.uuid, result.tag, result.text)
        out: list[a.Action] = [
            a.RecordEvent("command_failed", now, {"command": result.tag, "reply": result.text})
        ]
        if result.tag == "answer" and self.phase is Phase.ANSWERING:
            out += self.hangup("NORMAL_TEMPORARY_FAILURE")
        elif result.tag == "stream":
            self.listening = False
            out += self._stream_lost(now)
        elif result.tag == "transfer" and self.phase is Phase.TRANSFERRED:
            out += self.hangup("NORMAL_TEMPORARY_FAILURE")
        return out

    def _stream_lost(self, now: datetime) -> list[a.Action]:
        """Start the stream again after a delay, or give up: tell the caller and end the call."""
        if self.phase is not Phase.ACTIVE or not self._stream_command:
            return []
        delay = self.stream.lost()
        if delay is not None:
            return [a.StartTimer("stream_retry", delay)]
        self.log.error("call %s: the audio stream could not be restarted; ending the call", self.info.uuid)
        return [
            a.RecordEvent("audio_stream_given_up", now, {"attempts": len(self.stream.delays)}),
            *self.dialogue.say_and_hang_up(self.policy.cannot_hear, "stream_lost", now),
        ]

    def _restart_stream(self, now: datetime) -> list[a.Action]:
        if self.phase is not Phase.ACTIVE or self.listening:
            return []
        detail = {"attempt": self.stream.attempts}
        # After ::disconnect mod_audio_stream keeps its media bug, and start refuses while one is
        # attached: stop it first (after ::error there is none, and the stop's -ERR is expected).
        return [
            a.RecordEvent("audio_stream_restart", now, detail),
            a.Api("stream_stop", commands.audio_stream_stop(self.info.uuid)),
            a.Api("stream", self._stream_command),
        ]

    def _on_connection_lost(self, reason: str, now: datetime) -> list[a.Action]:
        transferred = self.phase is Phase.TRANSFERRED
        self.phase = Phase.ENDED
        out: list[a.Action] = [*self.dialogue.stop(), *self.dialogue.flush_turns(now)]
        if transferred:
            # FreeSWITCH ends the socket application when the call moves on to its new extension.
            self.log.info("call %s: transferred; the controller's part is over", self.info.uuid)
            return [*out, a.RecordEnd(now, "TRANSFERRED", None, None, state="ended"), a.Finish()]
        self.log.error("call %s: lost the FreeSWITCH socket: %s", self.info.uuid, reason)
        return [
            *out,
            a.RecordEvent("esl_connection_lost", now, {"reason": reason}),
            a.RecordEnd(now, self.hangup_cause, None, None, state="failed"),
            a.Finish(),
        ]

    # --- used by the dialogue -----------------------------------------------------------------------

    def hangup(self, cause: str) -> list[a.Action]:
        self.phase = Phase.HANGING_UP
        return [*self.dialogue.stop(), a.SendMsg("hangup", dict(commands.hangup_message(cause)[1]))]

    def transfer(self, destination: str, now: datetime) -> list[a.Action]:
        if destination.startswith(("sip:", "sips:")):
            target = f"{self.policy.transfer_sip_profile}/{destination.split(':', 1)[1]}"
            command = commands.uuid_transfer_bridge(self.info.uuid, f"sofia/{target}")
        else:
            command = commands.uuid_transfer(self.info.uuid, destination, "XML", self.policy.transfer_context)
        self.phase = Phase.TRANSFERRED
        return [
            *self.dialogue.stop(),
            a.RecordEvent("transfer", now, {"destination": destination}),
            a.Api("transfer", command),
        ]
