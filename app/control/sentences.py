"""Cut a reply into pieces that can be spoken one after another, the first as early as possible."""

from __future__ import annotations

import re

from app.dialog.sentences import SentenceSplitter

_CLAUSE_BREAK = re.compile(r"(?<=[,;:—])\s+")


def split_sentences(text: str, first_clause_words: int = 6) -> list[str]:
    """Sentences of ``text``; a long first sentence gives up its first clause as a piece of its own.

    The first piece decides how soon the caller hears anything, so when the first sentence runs past
    ``2 * first_clause_words`` words and has a natural break (comma, semicolon, colon, dash), it is cut there.
    """
    splitter = SentenceSplitter()
    pieces = splitter.feed(" ".join(text.split()) + " ")
    rest = splitter.flush()
    if rest:
        pieces.append(rest)
    if pieces and len(pieces[0].split()) > 2 * first_clause_words:
        clauses = _CLAUSE_BREAK.split(pieces[0], maxsplit=1)
        if len(clauses) == 2 and len(clauses[0].split()) >= 2:
            pieces = [clauses[0], clauses[1], *pieces[1:]]
    return pieces


def heard_text(text: str, heard_ms: int | None, duration_ms: int | None) -> str:
    """The words of ``text`` the caller heard when playback stopped after ``heard_ms`` of ``duration_ms``."""
    if heard_ms is None or duration_ms is None or duration_ms <= 0 or heard_ms >= duration_ms:
        return text
    words = text.split()
    count = int(len(words) * heard_ms / duration_ms)
    return " ".join(words[:count])
