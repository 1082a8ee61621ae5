"""Split a plain-SQL migration file into statements.

Drivers differ on multi-statement strings (psycopg2 takes them, sqlite3 only through ``executescript``,
which commits behind our back), so a migration is cut into single statements and run one by one inside
its transaction. The splitter knows the lexical parts of the common SQL subset that may hide a ``;``:
``--`` line comments, ``/* */`` block comments, ``'string'`` literals (``''`` escapes a quote) and
``"quoted identifiers"``. Dollar-quoted bodies (PostgreSQL functions) are not part of that subset.
"""

from __future__ import annotations


class SqlScriptError(ValueError):
    """The script has an unterminated string, identifier or comment."""


def split_statements(script: str) -> list[str]:
    """Return the statements of ``script``, stripped, without the ``;`` and without comment-only parts."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    index = 0
    length = len(script)
    while index < length:
        char = script[index]
        pair = script[index : index + 2]
        if pair == "--":
            end = script.find("\n", index)
            index = length if end == -1 else end + 1
            current.append("\n")
            continue
        if pair == "/*":
            end = script.find("*/", index + 2)
            if end == -1:
                raise SqlScriptError(f"unterminated block comment at offset {index}")
            index = end + 2
            current.append(" ")
            continue
        if char in ("'", '"'):
            end = _end_of_quoted(script, index)
            current.append(script[index:end])
            has_code = True
            index = end
            continue
        if char == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
            index += 1
            continue
        current.append(char)
        has_code = has_code or not char.isspace()
        index += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements


def _end_of_quoted(script: str, start: int) -> int:
    """Index just past the quoted part opening at ``start``; a doubled quote is an escaped quote."""
    quote = script[start]
    index = start + 1
    while True:
        end = script.find(quote, index)
        if end == -1:
            raise SqlScriptError(f"unterminated {quote} quote opened at offset {start}")
        if script[end + 1 : end + 2] == quote:
            index = end + 2
            continue
        return end + 1
