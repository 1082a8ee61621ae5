"""Answering-machine screening of an answered outbound call, before the agent speaks. Pure.

The worker's speech messages go to :class:`~app.control.amd.MachineDetector`; once it has a verdict, the
campaign's action decides: go on with the conversation, hang up, or wait for the greeting to end and
leave the flow's voicemail message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.control.amd import AmdAction, AmdConfig, Decision, MachineDetector, Next, next_step

TICK_SECONDS = 0.2


@dataclass(frozen=True)
class Screened:
    """What to do now; ``decision`` is new when the verdict has just been reached."""

    next: Next
    decision: Decision | None = None


class MachineScreen:
    def __init__(self, action: AmdAction, answered_at: datetime, config: AmdConfig | None = None) -> None:
        self.action = action
        self.answered_at = answered_at
        self.detector = MachineDetector(config or AmdConfig())
        self._announced = False

    def _seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.answered_at).total_seconds())

    def feed(self, message: dict[str, object], now: datetime) -> Screened | None:
        kind = message.get("type")
        at = self._seconds(now)
        if kind == "speech_stopped":
            self.detector.speech_ended(at)
        elif kind in ("speech_started", "partial", "utterance"):
            self.detector.feed(message, at)
        return self._outcome(at)

    def tick(self, now: datetime) -> Screened | None:
        at = self._seconds(now)
        self.detector.tick(at)
        return self._outcome(at)

    def _outcome(self, at: float) -> Screened | None:
        decision = self.detector.decision
        if decision is None:
            return None
        step = next_step(decision.verdict, self.action, greeting_over=self.detector.greeting_over(at))
        new = None if self._announced else decision
        self._announced = True
        if step is Next.WAIT_FOR_GREETING_END and new is None:
            return None
        return Screened(step, new)
