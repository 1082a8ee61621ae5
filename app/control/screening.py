"""Answering-machine screening of an answered outbound call, before the agent speaks. Pure.

The worker's speech messages and mod_avmd's beep go to :class:`~app.control.amd.MachineDetector`;
once it has a verdict, the campaign's action decides: go on with the conversation, hang up, or wait
for the beep (or the greeting's end) and leave the flow's voicemail message.

The detector runs on the call's audio timeline. Its clock is the wall time since the media stream
connected (mod_audio_stream drops the audio before that, so the worker's ``*_ms`` count from there),
and since the answer until the connection is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.control.amd import AmdAction, AmdConfig, Decision, MachineDetector, Next, next_step
from app.esl import commands

TICK_SECONDS = 0.2


def avmd_command(uuid: str, action: str) -> str:
    """mod_avmd's API: ``avmd <uuid> stop`` removes the call's beep detector (``start`` is not enough).

    FreeSWITCH 1.10.12's ``avmd <uuid> start`` replies +OK and fires ``avmd::start``, but the session
    it makes has no detectors (the API neither copies the settings nor starts the detector threads), so
    it never fires ``avmd::beep``: start it with :func:`avmd_start_message` instead.
    """
    if action not in ("start", "stop"):
        raise ValueError(f"avmd action must be start or stop, not {action!r}")
    return f"avmd {commands.call_uuid(uuid)} {action}"


def avmd_start_message() -> dict[str, str]:
    """``sendmsg`` headers running mod_avmd's ``avmd_start`` application: a detector on the callee's audio.

    The application runs in the call's session at once (nothing plays while the call is screened) and
    fires ``avmd::beep`` once when it hears a beep; ``avmd <uuid> stop`` removes it.
    """
    return dict(commands.execute("avmd_start")[1])


@dataclass(frozen=True)
class Screened:
    """What to do now; ``decision`` is new when the verdict has just been reached."""

    next: Next
    decision: Decision | None = None


class MachineScreen:
    def __init__(self, action: AmdAction, answered_at: datetime, config: AmdConfig | None = None) -> None:
        self.action = action
        self.answered_at = answered_at
        self.origin = answered_at
        self.detector = MachineDetector(config or AmdConfig())
        self._announced = False

    def _seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.origin).total_seconds())

    def audio_ms(self, now: datetime) -> float:
        """``now`` on the worker's audio timeline (its ``*_ms`` fields), as far as the controller knows."""
        return 1000.0 * self._seconds(now)

    def stream_connected(self, now: datetime) -> None:
        """The media stream is up: its audio time 0 is now."""
        self.origin = max(self.answered_at, now)

    def feed(self, message: dict[str, object], now: datetime) -> Screened | None:
        at = self._seconds(now)
        self.detector.feed(message, at)
        return self._outcome(at)

    def beep(self, now: datetime) -> Screened | None:
        """mod_avmd fired ``avmd::beep``."""
        at = self._seconds(now)
        self.detector.beep(at)
        return self._outcome(at)

    def tick(self, now: datetime) -> Screened | None:
        at = self._seconds(now)
        self.detector.tick(at)
        return self._outcome(at)

    def _outcome(self, at: float) -> Screened | None:
        decision = self.detector.decision
        if decision is None:
            return None
        over = self.detector.greeting_over(max(at, self.detector.now))
        step = next_step(decision.verdict, self.action, greeting_over=over)
        new = None if self._announced else decision
        self._announced = True
        if step is Next.WAIT_FOR_GREETING_END and new is None:
            return None
        return Screened(step, new)
