"""Answering-machine detection: human or machine from the first seconds of an answered outbound call.

Pure and clock-free. Everything is timed on the call's **audio** timeline (seconds since the media
stream started): the worker's messages carry the speech's own start and end (``start_ms``/``end_ms``),
so the greeting's length does not depend on when the messages arrived (``speech_started`` comes
``min_speech`` after the onset, ``speech_stopped`` a silence after the end) nor on their order. The
detector keeps a set of speech segments keyed by their start; a message about a segment already known
only completes it.

The rules, first match wins:

1. a transcript with a voicemail phrase ("leave a message", "after the tone") or a beep: machine;
2. more speech than a person's greeting (``max_human_greeting``; speech still going counts only up to
   ``end_wait`` before now, the time the worker needs to report an end) or too many words: machine;
3. the speech has ended and its transcript is a typical answer ("hello?", "speaking"), or a short
   greeting was followed by ``after_greeting_silence`` and its words are in (or ``transcript_wait``
   has passed: noise has none): human;
4. nothing heard for ``initial_silence``, or ``total_analysis`` over: unknown (the call goes on).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from app.control.amd_phrases import classify_transcript, normalise
from app.control.amd_verdict import Decision, Verdict

__all__ = ["AmdAction", "AmdConfig", "Decision", "MachineDetector", "Next", "Verdict", "next_step"]


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


@dataclass(frozen=True)
class AmdConfig:
    """Thresholds in seconds of call audio (tuned on bench/amd_eval.py, docs/speech-evaluation.md)."""

    initial_silence: float = 2.5
    max_human_greeting: float = 2.4
    after_greeting_silence: float = 0.8
    # The worker reports an end after at least 800 ms of silence (its end of turn for a finished-looking
    # turn; 1-1.6 s when the words look unfinished): speech still going counts up to this before now.
    end_wait: float = 0.8
    transcript_wait: float = 0.1  # then how long the silence rule waits for the words: 0.9 s after the speech
    max_words: int = 9
    total_analysis: float = 5.0
    greeting_end_silence: float = 1.2
    after_beep: float = 0.5  # mod_avmd fires early in the beep; a machine records only once it is over
    max_greeting_wait: float = 30.0  # leave the message anyway if the greeting never seems to end


def _key(seconds: float) -> float:
    return round(seconds, 3)


def _stamp(message: Mapping[str, object], name: str) -> float | None:
    value = message.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    return None


class MachineDetector:
    """One per answered call; :attr:`decision` is set once, then stays."""

    def __init__(self, config: AmdConfig = AmdConfig()) -> None:
        self.config = config
        self.decision: Decision | None = None
        self._open: set[float] = set()  # starts of speech not yet known to have ended
        self._closed: dict[float, float] = {}  # start -> end
        self._final: dict[float, str] = {}  # start -> the utterance's text
        self._heard: dict[float, str] = {}  # start -> a partial or hypothesis (not final)
        self._loose: list[str] = []  # final texts without times
        self._beep_at: float | None = None
        self._now = 0.0

    # --- observations ------------------------------------------------------------------------------------

    def speech_started(self, start: float, now: float) -> Decision | None:
        """Speech began at ``start`` (its first window, not the moment it was reported)."""
        if _key(start) not in self._closed:
            self._open.add(_key(start))
        return self.tick(now)

    def speech_ended(self, start: float | None, end: float | None, now: float) -> Decision | None:
        """The segment that began at ``start`` ended at ``end`` (without times: the latest one, now)."""
        if start is None:
            start = max(self._open, default=None)
            if start is None:
                return self.tick(now)
        end = now if end is None else end
        self._open.discard(_key(start))
        self._closed[_key(start)] = max(end, start)
        return self.tick(max(now, end))

    def words(
        self, text: str, now: float, *, start: float | None = None, final: bool = True
    ) -> Decision | None:
        """Recognised words of the segment that began at ``start``; only ``final`` text is counted."""
        if text.strip():
            if start is None:
                if final:
                    self._loose.append(text)
                else:
                    self._heard[-1.0] = text
            else:
                (self._final if final else self._heard)[_key(start)] = text
        return self.tick(now)

    def beep(self, now: float) -> Decision | None:
        """mod_avmd heard a voicemail beep."""
        if self._beep_at is None:
            self._beep_at = now
        return self.tick(now)

    def feed(self, message: Mapping[str, object], now: float) -> Decision | None:
        """A media-worker message (docs/worker-messages.md); ``now`` is the audio time it arrived at."""
        kind = message.get("type")
        text = str(message.get("text") or "")
        start, end = _stamp(message, "start_ms"), _stamp(message, "end_ms")
        now = max(now, _stamp(message, "decided_ms") or 0.0)
        if kind == "speech_started":
            return self.speech_started(now if start is None else start, now)
        if kind == "speech_stopped":
            return self.speech_ended(start, end, now)
        if kind in ("partial", "hypothesis"):
            return self.words(text, now, start=start, final=False)
        if kind == "utterance":
            if start is not None or end is not None or self._open:
                self.speech_ended(start, end, now)
            return self.words(text, now, start=start, final=True)
        return self.tick(now)

    # --- the verdict -------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The latest audio time seen (a tick, or a message's own stamps)."""
        return self._now

    def speech_seconds(self, now: float) -> float:
        """Speech so far: ended segments in full, going ones up to ``end_wait`` before ``now``.

        A segment whose end is not known yet ended before the next one began, if that one is known
        (segments never overlap): so a late ``speech_stopped`` never makes the speech look longer.
        """
        starts = sorted({*self._open, *self._closed})
        going = 0.0
        for start in self._open:
            later = [s for s in starts if s > start]
            until = min([now - self.config.end_wait, *later[:1]])
            going += max(0.0, until - start)
        return sum(end - start for start, end in self._closed.items()) + going

    def tick(self, now: float) -> Decision | None:
        """Time has passed (or something was heard); decide if what is known settles it."""
        self._now = now = max(now, self._now)
        if self.decision is None:
            found = self._verdict(now)
            if found is not None:
                self.decision = Decision(found[0], found[1], now)
        return self.decision

    def _verdict(self, now: float) -> tuple[Verdict, str] | None:
        config = self.config
        finals = [*self._final.values(), *self._loose]
        for text in (*finals, *self._heard.values()):
            if classify_transcript(text) is Verdict.MACHINE:
                return Verdict.MACHINE, f"phrase: {text!r}"
        if self._beep_at is not None:
            return Verdict.MACHINE, "beep"
        speech = self.speech_seconds(now)
        if speech > config.max_human_greeting:
            return Verdict.MACHINE, f"greeting of {speech:.1f} s"
        words = sum(len(normalise(text).split()) for text in finals)
        if words > config.max_words:
            return Verdict.MACHINE, f"{words} words"
        if self._closed and not self._open:
            texts = [self._final.get(start) for start in self._closed]
            if all(t is not None and classify_transcript(t) is Verdict.HUMAN for t in texts):
                return Verdict.HUMAN, f"answer {' / '.join(t or '' for t in texts)!r} ({speech:.1f} s)"
            silence = now - max(self._closed.values())
            if silence >= config.after_greeting_silence and not self._words_pending(now):
                return Verdict.HUMAN, f"short greeting ({speech:.1f} s) then {silence:.1f} s of silence"
        heard = bool(self._open or self._closed or finals)
        if not heard and now >= config.initial_silence:
            return Verdict.UNKNOWN, f"silence for {now:.1f} s"
        if now >= config.total_analysis:
            return Verdict.UNKNOWN, "analysis time over"
        return None

    def _words_pending(self, now: float) -> bool:
        """A segment's transcript may still come (one that had no words never comes: wait, but not long)."""
        wait = self.config.end_wait + self.config.transcript_wait
        return any(start not in self._final and now < end + wait for start, end in self._closed.items())

    def greeting_over(self, now: float) -> bool:
        """After a MACHINE verdict: may the message be left now (the beep, or the greeting's end)?

        mod_avmd reports a beep while it sounds (it has no event for the beep's end): the message waits
        ``after_beep`` more, so that it is not spoken over the rest of the beep.
        """
        if self._beep_at is not None:
            return now >= self._beep_at + self.config.after_beep
        if now >= self.config.max_greeting_wait:
            return True
        return (
            not self._open
            and bool(self._closed)
            and now - max(self._closed.values()) >= self.config.greeting_end_silence
        )


def next_step(verdict: Verdict, action: AmdAction, *, greeting_over: bool) -> Next:
    """What the call does given the verdict and the campaign's answering-machine action."""
    if verdict is not Verdict.MACHINE or action is AmdAction.CONTINUE:
        return Next.CONTINUE
    if action is AmdAction.HANGUP:
        return Next.HANGUP
    return Next.LEAVE_VOICEMAIL if greeting_over else Next.WAIT_FOR_GREETING_END
