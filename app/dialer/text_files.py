"""Read a user's text file (a contacts CSV, a do-not-call list) in whatever encoding a spreadsheet wrote.

UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark are read as such; a file that
is not valid UTF-8 is read as Windows-1252 (what Excel's plain "CSV" export writes on Western systems).
Anything else is refused with the file, the line and the byte offset of the first byte that cannot be read.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
FALLBACK = "cp1252"


class TextEncodingError(ValueError):
    """The file is not text in an encoding we accept; ``str()`` says where it stops being readable."""

    def __init__(self, path: Path, line: int, offset: int, detail: str) -> None:
        super().__init__(
            f"{path}: line {line}, byte offset {offset}: {detail}"
            " (save it as \"CSV UTF-8\" or plain UTF-8 text)"
        )
        self.path, self.line, self.offset = path, line, offset


@dataclass(frozen=True)
class DecodedText:
    """The file's text and the encoding it was read with."""

    text: str
    encoding: str

    def lines(self) -> io.StringIO:
        """The text as a file of lines (``newline=""``, so the csv module sees the line ends it expects)."""
        return io.StringIO(self.text, newline="")


def decode_text(data: bytes, path: Path) -> DecodedText:
    """Decode ``data`` (the contents of ``path``) as described in the module docstring."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise _error(path, data, exc.start, f"not valid {encoding.upper()} text") from None
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if b"\x00" in data:
        nul = data.index(b"\x00")
        raise _error(path, data, nul, "a NUL byte: UTF-16 without a byte-order mark, or not a text file")
    try:
        return DecodedText(data.decode(FALLBACK), FALLBACK)
    except UnicodeDecodeError as exc:
        raise _error(
            path, data, min(first_bad, exc.start), "neither UTF-8, UTF-16 nor Windows-1252 text"
        ) from None


def read_text(path: Path) -> DecodedText:
    """Read and decode the file at ``path`` (see :func:`decode_text`)."""
    return decode_text(path.read_bytes(), path)


def _error(path: Path, data: bytes, offset: int, detail: str) -> TextEncodingError:
    line = data.count(b"\n", 0, offset) + 1
    return TextEncodingError(path, line, offset, detail)
