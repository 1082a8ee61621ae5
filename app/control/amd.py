"""Answering-machine detection: human or machine from the first seconds of an answered outbound call.

Pure and clock-free: feed it what the media worker reports (speech starts and ends, recognised words),
each with its time in seconds since the answer, and call :meth:`MachineDetector.tick` as time passes.
The rules are the classic ones (as in Asterisk's AMD): a person says a short "hello?" and waits; a
machine speaks a long greeting, with many words and phrases such as "leave a message".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


class AmdAction(enum.StrEnum):
    """What a campaign does with a machine: hang up, leave the flow's voicemail, or carry on."""

    CONTINUE = "continue"
    HANGUP = "hangup"
    VOICEMAIL = "voicemail"


class Next(enum.StrEnum):
    """What the call should do now that a verdict is in."""

    CONTINUE = "continue"
    HANGUP = "hangup"
    WAIT_FOR_GREETING_END = "wait_for_greeting_end"
    LEAVE_VOICEMAIL = "leave_voicemail"


MACHINE_PHRASES = re.compile(
    r"leave (a|your) (message|name)|not available|after the (tone|beep)|voice ?mail|mailbox"
    r"|(can ?not|can't|cannot|unable to) (take|answer|come)|record your message|reached the"
)


@dataclass(frozen=True)
class AmdConfig:
    """Thresholds in seconds (defaults close to Asterisk's AMD application)."""

    initial_silence: float = 2.5
    greeting: float = 1.5
    after_greeting_silence: float = 0.8
    max_words: int = 4
    total_analysis: float = 5.0
    greeting_end_silence: float = 1.2


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    at: float


class MachineDetector:
    """One per answered call; :attr:`decision` is set once, then stays."""

    def __init__(self, config: AmdConfig = AmdConfig()) -> None:
        self.config = config
        self.decision: Decision | None = None
        self._speech_since: float | None = None
        self._last_speech_end: float | None = None
        self._speech_total = 0.0
        self._words = 0
        self._text: list[str] = []

    # --- observations ------------------------------------------------------------------------------------

    def speech_started(self, at: float) -> Decision | None:
        if self._speech_since is None:
            self._speech_since = at
        return self.tick(at)

    def speech_ended(self, at: float) -> Decision | None:
        if self._speech_since is not None:
            self._speech_total += max(at - self._speech_since, 0.0)
            self._speech_since = None
        self._last_speech_end = at
        return self.tick(at)

    def words(self, text: str, at: float, *, final: bool = True) -> Decision | None:
        """Words recognised so far (a partial replaces nothing: only ``final`` text is counted)."""
        lowered = text.lower()
        if MACHINE_PHRASES.search(lowered):
            return self._decide(Verdict.MACHINE, f"phrase: {text!r}", at)
        if final:
            self._text.append(lowered)
            self._words += len(lowered.split())
            if self._words > self.config.max_words:
                return self._decide(Verdict.MACHINE, f"{self._words} words", at)
        return self.tick(at)

    def tick(self, at: float) -> Decision | None:
        """Time has passed; decide if the silence or speech so far settles it."""
        if self.decision is not None:
            return self.decision
        config = self.config
        speaking_for = self._speech_total + (
            at - self._speech_since if self._speech_since is not None else 0.0
        )
        heard_anything = self._speech_since is not None or self._last_speech_end is not None
        if speaking_for > config.greeting:
            return self._decide(Verdict.MACHINE, f"greeting of {speaking_for:.1f} s", at)
        if not heard_anything and at >= config.initial_silence:
            return self._decide(Verdict.UNKNOWN, f"silence for {at:.1f} s", at)
        if (
            self._speech_since is None
            and self._last_speech_end is not None
            and at - self._last_speech_end >= config.after_greeting_silence
        ):
            return self._decide(Verdict.HUMAN, f"short greeting ({speaking_for:.1f} s) then silence", at)
        if at >= config.total_analysis:
            return self._decide(Verdict.UNKNOWN, "analysis time over", at)
        return None

    def greeting_over(self, at: float) -> bool:
        """After a MACHINE verdict: has the greeting ended (silence long enough to leave a message)?"""
        return (
            self._speech_since is None
            and self._last_speech_end is not None
            and at - self._last_speech_end >= self.config.greeting_end_silence
        )

    def feed(self, message: Mapping[str, object], at: float) -> Decision | None:
        """A media-worker message: ``speech_started``, ``speech_ended``, ``partial`` or ``utterance``."""
        kind = message.get("type")
        text = str(message.get("text") or "")
        if kind == "speech_started":
            return self.speech_started(at)
        if kind == "speech_ended":
            return self.speech_ended(at)
        if kind == "partial":
            return self.words(text, at, final=False)
        if kind == "utterance":
            self.speech_ended(at)
            return self.words(text, at, final=True) if self.decision is None else self.decision
        return self.tick(at)

    def _decide(self, verdict: Verdict, reason: str, at: float) -> Decision:
        if self.decision is None:
            self.decision = Decision(verdict, reason, at)
        return self.decision


def next_step(verdict: Verdict, action: AmdAction, *, greeting_over: bool) -> Next:
    """What the call does given the verdict and the campaign's answering-machine action."""
    if verdict is not Verdict.MACHINE or action is AmdAction.CONTINUE:
        return Next.CONTINUE
    if action is AmdAction.HANGUP:
        return Next.HANGUP
    return Next.LEAVE_VOICEMAIL if greeting_over else Next.WAIT_FOR_GREETING_END
