"""Does a transcript read like a finished turn? Word rules, pure.

Whisper puts a full stop on fragments ("I was calling about."), so its punctuation says little; the last
words say more. A turn that ends on a conjunction, a preposition, an article or possessive, a filler, or
in the middle of a number being read out ("four five six ...") is not finished, whatever the punctuation.
A trailing comma, dash or ellipsis is Whisper hearing the voice trail off, which means the same.
The rules only ever say "not finished": a transcript that passes them is merely not known to be unfinished.
"""

from __future__ import annotations

import re


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


CONJUNCTIONS = _word_set(
    "and but or nor so because cause cos if when whenever while whereas although though since unless until"
    " till than that which who whom whose where whether"
)
PREPOSITIONS = _word_set(
    "to for of in on at with from by about into onto over under after before between through during"
    " without within towards toward near around via per like against across behind beside besides"
    " upon"
)
# Only words that cannot end a sentence: "this", "some" or "her" can ("who is this?", "I called her").
DETERMINERS = _word_set("a an the my your our their")
FILLERS = _word_set("um uh uhm umm er erm ah eh hm mm")
# A subject with no verb yet leaves the sentence hanging: "I", "we're", "it's". Auxiliaries and modals
# do not ("... where the branch is?", "... as soon as I can").
HANGING = _word_set("i i'm im we're you're they're it's he's she's there's")
# A one-word answer is a finished turn.
ANSWERS = _word_set("yes yeah yep no nope okay ok sure right correct thanks")

_NUMBER_WORDS = _word_set(
    "zero oh o one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred"
    " thousand double triple"
)
_TRAILING_OFF = re.compile(r"(,|-|\u2014|\u2013|\.\.\.|\u2026)\s*$")
_WORD = re.compile(r"[a-z0-9']+")
# A phone, account or card number has more digits than this: a shorter run is still being read out.
_NUMBER_DIGITS = 10
_DIGITS_PER_WORD = {"hundred": 2, "thousand": 3, "double": 0, "triple": 0}
_NUMBER_CUES = _word_set("number code account card pin reference phone zip postcode is was")


def _spoken_digits(token: str) -> int:
    if token.isdigit():
        return len(token)
    return _DIGITS_PER_WORD.get(token, 1)


def trailing_number_digits(words: list[str]) -> tuple[int, int]:
    """(tokens, digits) of the run of number tokens the words end with (digits as written or spoken)."""
    tokens = digits = 0
    for token in reversed(words):
        if not (token.isdigit() or token in _NUMBER_WORDS):
            break
        tokens += 1
        digits += _spoken_digits(token)
    return tokens, digits


def unfinished_reason(text: str) -> str | None:
    """Why ``text`` is not a finished turn ("conjunction", "number", ...), or None if nothing says so."""
    stripped = text.strip()
    if not stripped:
        return None
    if _TRAILING_OFF.search(stripped):
        return "trailing_off"
    words = _WORD.findall(stripped.lower().replace("\u2019", "'"))
    if not words:
        return None
    last = words[-1]
    if len(words) == 1 and last in ANSWERS:
        return None
    if last in FILLERS:
        return "filler"
    if last in CONJUNCTIONS:
        return "conjunction"
    if last in PREPOSITIONS:
        return "preposition"
    if last in DETERMINERS:
        return "article"
    if last in HANGING:
        return "hanging"
    if _reading_a_number(words):
        return "number"
    return None


def _reading_a_number(words: list[str]) -> bool:
    """The words end part-way through a number read out: "my number is 456", "seven three nine".

    One number with nothing announcing it ("a table for two", "in 1999") is a finished answer.
    """
    tokens, digits = trailing_number_digits(words)
    if tokens == 0 or digits >= _NUMBER_DIGITS:
        return False
    single_digits = sum(1 for w in words[len(words) - tokens :] if _spoken_digits(w) == 1 and not w.isdigit())
    if single_digits >= 3:
        return True  # digit by digit: "four five six"
    announced = set(words[max(0, len(words) - tokens - 3) : len(words) - tokens])
    return bool(announced & _NUMBER_CUES)
