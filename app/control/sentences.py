"""Cut a reply into pieces that can be spoken one after another, the first as early as possible."""

from __future__ import annotations

import re

from app.dialog.sentences import SentenceSplitter

_CLAUSE_BREAK = re.compile(r"(?<=[,;:—])\s+")


def split_sentences(text: str, first_clause_words: int = 4) -> list[str]:
    """Sentences of ``text``; a long first sentence gives up its first clause as a piece of its own.

    The first piece decides how soon the caller hears anything (Piper takes ~50 ms plus ~15 ms a word),
    so when the first sentence runs past ``2 * first_clause_words`` words, it is cut at its first natural
    break (comma, semicolon, colon, dash) with at least two words before it.
    """
    splitter = SentenceSplitter()
    pieces = splitter.feed(" ".join(text.split()) + " ")
    rest = splitter.flush()
    if rest:
        pieces.append(rest)
    if pieces and len(pieces[0].split()) > 2 * first_clause_words:
        first = pieces[0]
        for brk in _CLAUSE_BREAK.finditer(first):
            if len(first[: brk.start()].split()) >= 2:
                pieces = [first[: brk.start()], first[brk.end() :], *pieces[1:]]
                break
    return pieces


def heard_text(text: str, heard_ms: int | None, duration_ms: int | None) -> str:
    """The words of ``text`` the caller heard when playback stopped after ``heard_ms`` of ``duration_ms``."""
    if heard_ms is None or duration_ms is None or duration_ms <= 0 or heard_ms >= duration_ms:
        return text
    words = text.split()
    count = int(len(words) * heard_ms / duration_ms)
    return " ".join(words[:count])
