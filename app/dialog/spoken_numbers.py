"""Numbers as a speech recogniser writes them: ``twenty five``, ``one two three four``, ``3``, ``fifth``.

Vosk and most STT engines spell numbers out in words, so the flows' number, DTMF-like digit and date
matchers all start here. Pure functions, no locale beyond English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
}  # fmt: skip

_WORD = re.compile(r"[a-z]+|\d+(?:st|nd|rd|th)?|[^\sa-z\d]", re.IGNORECASE)
_DIGITS_SUFFIX = re.compile(r"(\d+)(st|nd|rd|th)?$")


def words(text: str) -> list[str]:
    """Lower-case tokens: words, digit runs (``5th`` stays one token) and single punctuation marks."""
    return [t.lower() for t in _WORD.findall(text.replace("-", " "))]


@dataclass(frozen=True)
class SpokenNumber:
    """A number found at tokens ``start:end``; ``digits`` keeps leading zeros (``oh seven`` -> ``07``)."""

    value: int
    start: int
    end: int
    ordinal: bool = False
    digits: str = ""


def is_number_word(token: str) -> bool:
    return token in UNITS or token in TEENS or token in TENS or token in SCALES or token in ORDINALS


class _Builder:
    """Accumulates one cardinal number; refuses a word that would start another (``twenty twenty``)."""

    def __init__(self) -> None:
        self.total = 0
        self.small = 0
        self.has_unit = self.has_teen = self.has_tens = False
        self.used = False

    def accepts(self, token: str) -> bool:
        if token in SCALES:
            return self.used and not (token == "hundred" and self.small == 0)
        if self.has_unit or self.has_teen:
            return False
        if self.has_tens:
            return (token in UNITS and token not in ("zero", "oh")) or (
                token in ORDINALS and ORDINALS[token] < 10
            )
        return True

    def add(self, token: str) -> bool:
        """Add ``token``; return True if it was an ordinal (which ends the number)."""
        self.used = True
        if token in SCALES:
            scale = SCALES[token]
            if scale == 100:
                self.small *= 100
                self.has_unit = self.has_teen = self.has_tens = False
            else:
                self.total += max(self.small, 1) * scale
                self.small = 0
                self.has_unit = self.has_teen = self.has_tens = False
            return False
        if token in ORDINALS:
            self.small += ORDINALS[token]
            return True
        if token in UNITS:
            self.small += UNITS[token]
            self.has_unit = True
        elif token in TEENS:
            self.small += TEENS[token]
            self.has_teen = True
        else:
            self.small += TENS[token]
            self.has_tens = True
        return False

    @property
    def value(self) -> int:
        return self.total + self.small


def find_numbers(tokens: list[str]) -> list[SpokenNumber]:
    """Every number in ``tokens`` (from :func:`words`), in order."""
    found: list[SpokenNumber] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        literal = _DIGITS_SUFFIX.fullmatch(token)
        if literal:
            found.append(SpokenNumber(int(literal[1]), i, i + 1, bool(literal[2]), literal[1]))
            i += 1
            continue
        if not is_number_word(token) or token in SCALES:
            i += 1
            continue
        builder, start, ordinal = _Builder(), i, False
        while i < len(tokens):
            token = tokens[i]
            if token == "and" and builder.used and i + 1 < len(tokens) and is_number_word(tokens[i + 1]):
                i += 1
                continue
            if not is_number_word(token) or not builder.accepts(token):
                break
            i += 1
            if builder.add(token):
                ordinal = True
                break
        digits = "".join(str(UNITS[t]) for t in tokens[start:i] if t in UNITS) if i - start == 1 else ""
        found.append(SpokenNumber(builder.value, start, i, ordinal, digits or str(builder.value)))
    return found


def first_number(text: str) -> int | None:
    """The first number spoken in ``text`` (``I'd like twenty five`` -> 25), or None."""
    numbers = find_numbers(words(text))
    return numbers[0].value if numbers else None


def digit_string(text: str) -> str | None:
    """Digits read out one by one or typed (``one two oh four``, ``12 04``) -> ``1204``; None if none."""
    tokens = words(text)
    numbers = [n for n in find_numbers(tokens) if not n.ordinal]
    if not numbers:
        return None
    return "".join(n.digits for n in numbers)
