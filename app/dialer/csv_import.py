"""Read a contacts CSV: normalise numbers, keep the other columns as variables, report the bad rows.

Pure: it reads lines and returns values. Bad rows (no number, invalid number, a duplicate, a number on the
do-not-call list) are reported with their line numbers and skipped; only a file that has no header or no
number column is an error.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.dialer.numbers import InvalidNumber, parse_number

# Limits that keep one contact's variables well inside what an originate command can carry.
MAX_VARIABLES = 32
MAX_VALUE_LENGTH = 256
_NAME_CLEANER = re.compile(r"[^a-z0-9_]+")


class CsvFormatError(ValueError):
    """The file cannot be read as a contacts CSV at all (no header, no number column...)."""


class RejectReason(enum.StrEnum):
    MISSING = "missing"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    DO_NOT_CALL = "do_not_call"


@dataclass(frozen=True)
class Contact:
    """One callable row. ``line`` is the 1-based line of the file (the header is line 1)."""

    line: int
    number: str
    time_zone: str | None
    variables: dict[str, str]


@dataclass(frozen=True)
class Rejected:
    line: int
    raw_number: str
    reason: RejectReason
    detail: str = ""


@dataclass
class ImportResult:
    contacts: list[Contact] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    variable_names: list[str] = field(default_factory=list)

    def count(self, reason: RejectReason) -> int:
        return sum(1 for row in self.rejected if row.reason is reason)


def variable_name(column: str) -> str:
    """A column header as a variable name: lower case, ``[a-z0-9_]``, starting with a letter."""
    name = _NAME_CLEANER.sub("_", column.strip().lower()).strip("_")
    if not name:
        raise CsvFormatError(f"column {column!r} has no usable name")
    return name if name[0].isalpha() else f"v_{name}"


def _header_names(header: list[str], number_column: str) -> tuple[int, list[tuple[int, str]]]:
    wanted = number_column.strip().lower()
    lowered = [column.strip().lower() for column in header]
    if wanted not in lowered:
        raise CsvFormatError(f"no {number_column!r} column in the header {header!r}")
    number_index = lowered.index(wanted)
    variables: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, column in enumerate(header):
        if index == number_index or not column.strip():
            continue
        name = variable_name(column)
        if name in seen:
            raise CsvFormatError(f"two columns become the variable {name!r}")
        seen.add(name)
        variables.append((index, name))
    if len(variables) > MAX_VARIABLES:
        raise CsvFormatError(f"{len(variables)} variable columns; at most {MAX_VARIABLES} are supported")
    return number_index, variables


def read_contacts(
    lines: Iterable[str],
    *,
    number_column: str,
    default_region: str,
    do_not_call: frozenset[str] = frozenset(),
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 2000,
) -> ImportResult:
    """Read contacts from the lines of a CSV file (with a header row).

    ``on_progress(rows_done)`` is called every ``progress_every`` rows and at the end. Values longer than
    ``MAX_VALUE_LENGTH`` are cut; they are escaped later, when a dial command is built.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty") from None
    except csv.Error as exc:
        raise CsvFormatError(f"line 1: {exc}") from None
    try:
        number_index, variable_columns = _header_names(header, number_column)
    except CsvFormatError as exc:  # every error names its line; the header is always line 1
        raise CsvFormatError(f"line 1 (the header): {exc}") from None
    result = ImportResult(variable_names=[name for _, name in variable_columns])
    seen: set[str] = set()
    rows = 0
    last_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvFormatError(f"line {reader.line_num}: {exc}") from None
        rows += 1
        # A quoted field may span lines: report the line where the record starts.
        line, last_line = last_line + 1, reader.line_num
        if on_progress is not None and rows % progress_every == 0:
            on_progress(rows)
        if not row or all(not cell.strip() for cell in row):
            continue
        raw = row[number_index].strip() if number_index < len(row) else ""
        if not raw:
            result.rejected.append(Rejected(line, raw, RejectReason.MISSING))
            continue
        try:
            number, time_zone = parse_number(raw, default_region)
        except InvalidNumber as exc:
            result.rejected.append(Rejected(line, raw, RejectReason.INVALID, str(exc)))
            continue
        if number in do_not_call:
            result.rejected.append(Rejected(line, raw, RejectReason.DO_NOT_CALL))
        elif number in seen:
            result.rejected.append(Rejected(line, raw, RejectReason.DUPLICATE, number))
        else:
            seen.add(number)
            variables = {
                name: row[index].strip()[:MAX_VALUE_LENGTH]
                for index, name in variable_columns
                if index < len(row) and row[index].strip()
            }
            result.contacts.append(Contact(line, number, time_zone, variables))
    if on_progress is not None:
        on_progress(rows)
    return result
