"""What a caller's answer means to a flow: yes/no, keywords, regular expressions, numbers, dates and
times, DTMF, or anything at all. Each matcher is a small immutable object; ``match()`` returns what to
capture, or None."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from app.dialog.base import Dtmf, Utterance
from app.dialog.spoken_dates import parse_when
from app.dialog.spoken_numbers import digit_string, find_numbers, words

YES_WORDS = frozenset(
    [
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "correct",
        "right",
        "absolutely",
        "definitely",
        "ok",
        "okay",
        "fine",
        "confirm",
        "confirmed",
        "affirmative",
        "certainly",
        "please",
    ]
)
YES_PHRASES = ("that works", "sounds good", "go ahead", "of course", "that's it", "do that")
NO_WORDS = frozenset(["no", "nope", "nah", "not", "wrong", "incorrect", "cancel", "negative", "never"])
NO_PHRASES = ("not really",)
DTMF_YES, DTMF_NO = "1", "2"


@dataclass(frozen=True)
class Captured:
    """What matched: ``value`` goes into the route's capture variable; ``extra`` is set as is
    (regex named groups, ``<capture>_iso`` for dates)."""

    value: str
    extra: Mapping[str, str] = field(default_factory=dict)


class Matcher(Protocol):
    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None: ...


def _has_phrase(tokens: list[str], phrase: str) -> bool:
    wanted = words(phrase)
    return any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1))


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None if neither. A negation wins: ``that's not right`` is no."""
    tokens = words(re.sub(r"n['\u2019]t\b", " not", text.lower()))
    said_no = any(t in NO_WORDS for t in tokens) or any(_has_phrase(tokens, p) for p in NO_PHRASES)
    if said_no:
        return False
    if any(t in YES_WORDS for t in tokens) or any(_has_phrase(tokens, p) for p in YES_PHRASES):
        return True
    return None


@dataclass(frozen=True)
class YesNo:
    want: bool

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if isinstance(answer, Dtmf):
            said = {DTMF_YES: True, DTMF_NO: False}.get(answer.digits)
        else:
            said = yes_or_no(answer.text)
        if said is None or said != self.want:
            return None
        return Captured("yes" if said else "no")


@dataclass(frozen=True)
class Keywords:
    phrases: tuple[str, ...]

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if isinstance(answer, Dtmf):
            return None
        tokens = words(answer.text)
        for phrase in self.phrases:
            if _has_phrase(tokens, phrase):
                return Captured(phrase)
        return None


@dataclass(frozen=True)
class Regex:
    pattern: re.Pattern[str]

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        text = answer.digits if isinstance(answer, Dtmf) else answer.text
        found = self.pattern.search(text)
        if found is None:
            return None
        groups = {k: v for k, v in found.groupdict().items() if v is not None}
        value = found[1] if self.pattern.groups and found[1] is not None else found[0]
        return Captured(value, groups)


@dataclass(frozen=True)
class Number:
    minimum: int | None = None
    maximum: int | None = None

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if isinstance(answer, Dtmf):
            candidates = [int(answer.digits)] if _ascii_digits(answer.digits, 18) else []
        else:
            candidates = [n.value for n in find_numbers(words(answer.text)) if not n.ordinal]
        for value in candidates:
            if (self.minimum is None or value >= self.minimum) and (
                self.maximum is None or value <= self.maximum
            ):
                return Captured(str(value))
        return None


@dataclass(frozen=True)
class Digits:
    """A run of digits, typed or read out one by one (account numbers, PINs)."""

    minimum: int = 1
    maximum: int = 32

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        digits = answer.digits.rstrip("#") if isinstance(answer, Dtmf) else digit_string(answer.text)
        if digits and _ascii_digits(digits, self.maximum) and self.minimum <= len(digits):
            return Captured(digits)
        return None


@dataclass(frozen=True)
class When:
    """``date`` needs a day, ``time`` a clock time, ``datetime`` a day and a time (or part of the day)."""

    kind: Literal["date", "time", "datetime"]

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if isinstance(answer, Dtmf):
            return None
        when = parse_when(answer.text, now)
        if when is None:
            return None
        if self.kind in ("date", "datetime") and when.day is None:
            return None
        if self.kind == "time" and when.at is None:
            return None
        if self.kind == "datetime" and when.at is None and when.part_of_day is None:
            return None
        return Captured(when.spoken(), {"iso": when.iso()})


@dataclass(frozen=True)
class DtmfKeys:
    """Keys pressed: exactly ``keys``, or any keys when ``keys`` is None."""

    keys: str | None

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if not isinstance(answer, Dtmf):
            return None
        digits = answer.digits.rstrip("#") or answer.digits
        if self.keys is None or digits == self.keys:
            return Captured(digits)
        return None


@dataclass(frozen=True)
class Anything:
    """Any spoken answer (free text, e.g. a name); not DTMF."""

    def match(self, answer: Utterance | Dtmf, now: datetime) -> Captured | None:
        if isinstance(answer, Dtmf) or not answer.text.strip():
            return None
        # Recognisers end answers with punctuation; a captured value is spliced into sentences.
        return Captured(answer.text.strip().rstrip(".!?,;:").strip() or answer.text.strip())


def _ascii_digits(text: str | None, longest: int) -> bool:
    """``0-9`` only, at most ``longest`` of them: ``str.isdigit()`` also takes '²' and other scripts'
    digits, which ``int()`` refuses or reads, and a DTMF header may hold anything."""
    return text is not None and 0 < len(text) <= longest and text.isascii() and text.isdigit()
