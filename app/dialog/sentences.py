"""Cut streamed LLM tokens into sentences, so TTS can start on the first one while the rest is generated."""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "prof",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "approx",
        "no",
        "mt",
        "ave",
        "a.m",
        "p.m",
    ]
)
_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|\n+")
MAX_CLAUSE = 180  # an unpunctuated run this long is cut at its last comma rather than held back


class SentenceSplitter:
    """Feed text pieces; get back every sentence completed so far. ``flush()`` returns the rest."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, piece: str) -> list[str]:
        self._buffer += piece
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()]
            if match[0].startswith(".") and _ends_with_abbreviation(candidate):
                continue
            if candidate.strip():
                sentences.append(" ".join(candidate.split()))
            start = match.end()
        self._buffer = self._buffer[start:]
        if len(self._buffer) > MAX_CLAUSE and ", " in self._buffer:
            head, _, tail = self._buffer.rpartition(", ")
            sentences.append(" ".join(head.split()) + ",")
            self._buffer = tail
        return sentences

    def flush(self) -> str | None:
        rest = " ".join(self._buffer.split())
        self._buffer = ""
        return rest or None


def _ends_with_abbreviation(text: str) -> bool:
    word = text.rstrip(".").rsplit(maxsplit=1)[-1].lower() if text.strip(". ") else ""
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())
