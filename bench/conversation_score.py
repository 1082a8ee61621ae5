"""Scores the worker's messages on the conversational set (see bench/conversation_set.py).

Pure functions over a clip's manifest entry and the messages the listener sent for it (each with the
worker's audio-time fields). Text is compared after :func:`normalize`: lower case, no punctuation, no
fillers, number words as digits and runs of digits joined, so "four five six" == "456" == "4-5-6" and
"the fifth of March" == "the 5th of March".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.media.speechset import edit_distance

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_NUMBERS = {w: i for i, w in enumerate(_UNITS)} | _ORDINALS
FILLERS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah"})
# One-word answers and the spellings STT uses for them.
SHORT_SPELLINGS = {
    "mhm": {"mhm", "mm", "hmm", "mmhmm", "mmhm", "uhhuh", "mhmm", "hm"},
    "okay": {"okay", "ok"},
}
LOOP_WORDS_PER_SECOND = 6.0


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("'", "").replace("-", " ")
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text).split()


def normalize(text: str) -> list[str]:
    """Comparable words of ``text`` (see the module docstring)."""
    out: list[str] = []
    words = [w for w in _tokens(text) if w not in FILLERS]
    i = 0
    while i < len(words):
        w = words[i]
        digits = re.fullmatch(r"(\d+)(st|nd|rd|th)?", w)
        if digits:
            out.append(digits.group(1))
        elif w in _TENS:
            value = _TENS[w]
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt in _NUMBERS and 0 < _NUMBERS[nxt] < 10:
                value += _NUMBERS[nxt]
                i += 1
            out.append(str(value))
        elif w in _NUMBERS:
            out.append(str(_NUMBERS[w]))
        else:
            out.append(w)
        i += 1
    joined: list[str] = []
    for w in out:
        if w.isdigit() and joined and joined[-1].isdigit():
            joined[-1] += w
        else:
            joined.append(w)
    return joined



def _num(message: dict[str, object], key: str) -> float:
    value = message.get(key, 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass
class ClipScore:
    """What one clip tells: see :func:`score_clip`."""

    category: str
    multi_clause: bool
    cut_off: bool = False  # an utterance (the brain's end of turn) was decided before the last clause ended
    split: bool = False  # the segmenter ended a segment (speech_stopped) before the last clause ended
    kept: bool = False  # at least one utterance with words
    right_word: bool = False  # one-word answers: the word was recognised
    ref_words: int = 0
    word_errors: int = 0
    invented_words: int = 0  # noise-only clips: words in the utterances
    loops: int = 0  # utterances over LOOP_WORDS_PER_SECOND
    refused: int = 0  # stt_rejected messages: decodes the engine withheld as runaways
    utterances: int = 0
    end_latency_ms: float | None = None  # first utterance decided at or after the true end, minus that end
    never_ended: bool = False  # no utterance decided after the true end (no words, or only at stream end)
    hypothesis: str = ""


def score_clip(
    category: str, text: str, clauses: Sequence[Sequence[float]], messages: Iterable[dict[str, object]]
) -> ClipScore:
    """Score one clip from its manifest facts and the listener's messages, in the order sent."""
    messages = list(messages)
    score = ClipScore(category, multi_clause=len(clauses) > 1)
    utterances = [m for m in messages if m.get("type") == "utterance"]
    score.utterances = len(utterances)
    hypothesis = " ".join(str(m.get("text", "")) for m in utterances).strip()
    score.hypothesis = hypothesis
    heard = normalize(hypothesis)
    for m in utterances:
        seconds = max(0.001, (_num(m, "end_ms") - _num(m, "start_ms")) / 1000)
        if len(_tokens(str(m.get("text", "")))) / seconds > LOOP_WORDS_PER_SECOND:
            score.loops += 1
    score.refused = sum(m.get("type") == "stt_rejected" for m in messages)
    score.kept = bool(heard)
    if category == "noise":
        score.invented_words = len(heard)
        return score
    reference = normalize(text)
    score.ref_words = len(reference)
    score.word_errors = edit_distance(reference, heard)
    if category == "short":
        word = reference[0] if reference else ""
        spellings = SHORT_SPELLINGS.get(word, {word})
        score.right_word = any(w in spellings for w in heard)
    true_end = float(clauses[-1][1]) if clauses else 0.0
    turn_ends = [_num(m, "decided_ms") for m in utterances if m.get("reason") != "stream_end"]
    segment_ends = [_num(m, "decided_ms") for m in messages if m.get("type") == "speech_stopped"]
    score.cut_off = score.multi_clause and any(d < true_end for d in turn_ends)
    score.split = score.multi_clause and any(d < true_end for d in segment_ends)
    after = [d - true_end for d in turn_ends if d >= true_end]
    if after:
        score.end_latency_ms = min(after)
    else:
        score.never_ended = True
    return score


@dataclass
class Summary:
    """Totals over a group of clips."""

    multi: int = 0
    cut_off: int = 0
    split: int = 0
    short: int = 0
    short_kept: int = 0
    short_right: int = 0
    ref_words: int = 0
    word_errors: int = 0
    noise_clips: int = 0
    invented_words: int = 0
    loops: int = 0
    refused: int = 0
    utterances: int = 0
    never_ended: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, s: ClipScore) -> None:
        self.multi += s.multi_clause
        self.cut_off += s.cut_off
        self.split += s.split
        self.short += s.category == "short"
        self.short_kept += s.category == "short" and s.kept
        self.short_right += s.category == "short" and s.right_word
        self.ref_words += s.ref_words
        self.word_errors += s.word_errors
        self.noise_clips += s.category == "noise"
        self.invented_words += s.invented_words
        self.loops += s.loops
        self.refused += s.refused
        self.utterances += s.utterances
        self.never_ended += s.never_ended
        # Only complete turns: a cut-off turn's later decision is on its tail, not on the whole turn.
        if s.end_latency_ms is not None and not s.cut_off:
            self.latencies.append(s.end_latency_ms)

    def row(self) -> dict[str, str]:
        """The table cells."""

        def pct(n: int, d: int) -> str:
            return f"{100 * n / d:.0f} % ({n}/{d})" if d else "-"

        lat = np.array(self.latencies) if self.latencies else None
        return {
            "false cut-offs": pct(self.cut_off, self.multi),
            "segments ended inside": pct(self.split, self.multi),
            "short answers kept": (
                f"{pct(self.short_kept, self.short)}, {self.short_right} right" if self.short else "-"
            ),
            "WER": f"{100 * self.word_errors / self.ref_words:.1f} %" if self.ref_words else "-",
            "words invented in noise": f"{self.invented_words} in {self.noise_clips}"
            if self.noise_clips
            else "-",
            "loops >6 w/s / refused": f"{self.loops} / {self.refused}",
            "end latency p50 / p95 ms": (
                f"{np.percentile(lat, 50):.0f} / {np.percentile(lat, 95):.0f}" if lat is not None else "-"
            ),
            "no end after speech": str(self.never_ended),
        }


def summarize(scores: Iterable[ClipScore]) -> Summary:
    total = Summary()
    for s in scores:
        total.add(s)
    return total
