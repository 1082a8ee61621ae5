"""FreeSWITCH's API argument splitting (``switch_separate_string`` with a blank delimiter).

Spaces split, single quotes group (and are removed), a backslash protects the next character
while splitting; the cleanup pass turns ``\\n \\r \\t \\s \\' \\" \\\\`` into the character and keeps
other backslashes. When the array is full, the last element holds the rest of the line.
"""

from __future__ import annotations

UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def separate_blank(text: str, max_parts: int) -> list[str]:
    """Split ``text`` like ``switch_separate_string(buf, ' ', argv, max_parts)``."""
    starts: list[int] = []
    ends: list[int] = []
    index = 0
    inside_quotes = False
    state = "start"
    while index < len(text) and len(starts) < max_parts:
        char = text[index]
        if state == "start":
            starts.append(index)
            state = "skip_initial"
        elif state == "skip_initial":
            if char == " ":
                index += 1
            else:
                state = "find"
        elif state == "find":
            if char == "\\":
                index += 1
            elif char == "'":
                inside_quotes = not inside_quotes
            elif char == " " and not inside_quotes:
                ends.append(index)
                state = "skip_end"
            index += 1
        elif char == " ":
            index += 1
        else:
            state = "start"
    raw = []
    for position, start in enumerate(starts):
        end = ends[position] if position < len(ends) else len(text)
        raw.append(text[start:end])
    return [cleanup(part) for part in raw]


def cleanup(part: str) -> str:
    """``cleanup_separated_string``: strip quotes, resolve escapes, trim spaces."""
    text = part.lstrip(" ")
    out: list[str] = []
    end = 0
    inside_quotes = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following in "'\"\\" or following in UNESCAPES:
                out.append(UNESCAPES.get(following, following))
                end = len(out)
                index += 2
                continue
        if char == "'" and (inside_quotes or "'" in text[index + 1 :]):
            inside_quotes = not inside_quotes
            if inside_quotes:
                end = len(out)
        else:
            out.append(char)
            if char != " " or inside_quotes:
                end = len(out)
        index += 1
    return "".join(out[:end])
