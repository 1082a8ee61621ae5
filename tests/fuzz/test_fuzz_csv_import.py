"""Fuzzing the campaign importer: any bytes as a contacts file, read the way ``campaign run`` reads one.

Properties: :func:`~app.dialer.text_files.decode_text` gives text or a
:class:`~app.dialer.text_files.TextEncodingError` naming the file, a line and a byte offset inside the
data; :func:`~app.dialer.csv_import.read_contacts` gives contacts and rejected rows whose lines are lines
of the file, or a :class:`~app.dialer.csv_import.CsvFormatError` that says which line (only an empty file
has none); every contact is a unique E.164 number with bounded variables, never one on the do-not-call
list; and the do-not-call list itself never fails on a bad line.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.dialer.csv_import import MAX_VALUE_LENGTH, MAX_VARIABLES, CsvFormatError, read_contacts
from app.dialer.numbers import is_e164, read_do_not_call
from app.dialer.text_files import TextEncodingError, decode_text
from tests.fuzz.fuzzing import examples

PATH = Path("/imports/contacts.csv")
CELLS = st.one_of(
    st.sampled_from(
        ["+14155550123", "(212) 555-0100", "2125550100", "+999", "0", "phone", "Phone ", "name", "", " ",
         '"', '""', '"a\nb"', "+1 212 555 0199 ext. 5", "+44 20 7946 0958", "١٢٣", "9" * 300, "\x00", "\r"]
    ),
    st.text(max_size=20),
)  # fmt: skip
ROWS = st.lists(st.lists(CELLS, max_size=6), max_size=12)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])


def join(rows: list[list[str]], newline: str) -> str:
    return "".join(",".join(row) + newline for row in rows)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A contacts file: rows of fuzzed cells in some encoding, or plain fuzzed bytes."""
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        return draw(st.binary(max_size=400))
    header = draw(st.lists(CELLS, max_size=5))
    if draw(st.booleans()):
        header.insert(draw(st.integers(min_value=0, max_value=len(header))), "phone")
    text = join([header, *draw(ROWS)], draw(st.sampled_from(["\n", "\r\n", "\r"])))
    data = text.encode(draw(ENCODINGS), errors="replace")
    if draw(st.booleans()):  # a byte or two gone wrong somewhere
        index = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:index] + draw(st.binary(min_size=1, max_size=2)) + data[index:]
    return data


@settings(max_examples=examples(300))
@given(data=csv_files(), region=st.sampled_from(["US", "GB", "ZZ", "DE"]))
@example(data=b"phone,na\xffme\n2125550100,x\n", region="US")
@example(data=b"\xff\xfe" + "phone\n2125550100\n".encode("utf-16-le")[:-1], region="US")
@example(data=b"phone,\x81\x8d\x8f\x90\x9d\n", region="US")
@example(data=b'phone,note\n2125550100,"open\n', region="US")
@example(data=b"name, ,phone\n", region="US")
def test_any_file_imports_or_says_which_line(data: bytes, region: str) -> None:
    try:
        decoded = decode_text(data, PATH)
    except TextEncodingError as exc:
        assert 0 <= exc.offset <= len(data)
        assert 1 <= exc.line <= data.count(b"\n") + 1
        assert str(exc).startswith(f"{PATH}: line {exc.line}, byte offset {exc.offset}: ")
        return
    lines = decoded.text.count("\n") + decoded.text.count("\r") + 1
    do_not_call = frozenset({"+14155550123"})
    try:
        result = read_contacts(decoded.lines(), number_column="phone", default_region=region,
                               do_not_call=do_not_call)  # fmt: skip
    except CsvFormatError as exc:
        message = str(exc)
        assert message == "the file is empty" or re.match(r"line \d+", message), message
        return
    numbers = [contact.number for contact in result.contacts]
    assert len(numbers) == len(set(numbers)) and not do_not_call & set(numbers)
    assert len(result.variable_names) <= MAX_VARIABLES
    for contact in result.contacts:
        assert is_e164(contact.number) and 2 <= contact.line <= lines
        assert all(len(value) <= MAX_VALUE_LENGTH for value in contact.variables.values())
        assert set(contact.variables) <= set(result.variable_names)
    for row in result.rejected:
        assert 2 <= row.line <= lines


@settings(max_examples=examples(150))
@given(
    lines=st.lists(
        CELLS | st.sampled_from(["# a comment", "2125550100 # ann", "+1 (415) 555-0123;"]), max_size=20
    )
)
def test_a_do_not_call_list_skips_what_it_cannot_read(lines: list[str]) -> None:
    numbers = read_do_not_call(lines, "US")
    assert all(is_e164(number) for number in numbers)


def test_every_bom_decodes_to_the_same_text() -> None:
    text = "phone,name\n2125550100,Zoë\n"
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (b"", "utf-8"), (b"", "utf-16")):
        assert decode_text(bom + text.encode(encoding), PATH).text == text
