"""Reading contacts: E.164 normalisation, variables, and bad rows reported by line number."""

from __future__ import annotations

import io

import pytest

from app.dialer.csv_import import CsvFormatError, RejectReason, read_contacts, variable_name
from app.dialer.numbers import read_do_not_call, time_zone_of, to_e164


def read(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    options = {"number_column": "phone", "default_region": "US", **kwargs}
    return read_contacts(io.StringIO(text), **options)  # type: ignore[arg-type]


def test_numbers_are_normalised_and_other_columns_become_variables() -> None:
    result = read("Name,Phone,Due Date\nAnn,(212) 555-0123,2026-01-02\nBob,+44 20 7946 0000,\n")
    assert [(c.line, c.number) for c in result.contacts] == [(2, "+12125550123"), (3, "+442079460000")]
    assert result.contacts[0].variables == {"name": "Ann", "due_date": "2026-01-02"}
    assert result.contacts[1].variables == {"name": "Bob"}
    assert result.contacts[0].time_zone == "America/New_York"
    assert result.contacts[1].time_zone == "Europe/London"
    assert result.variable_names == ["name", "due_date"]


def test_bad_rows_are_reported_with_their_line_and_skipped() -> None:
    dnc = frozenset({"+12125550199"})
    text = (
        "phone,name\n"
        "212-555-0100,ok\n"  # line 2
        ",no number\n"  # line 3
        "12345,too short\n"  # line 4
        "+1 555 123 4567,no such area code\n"  # line 5
        "(212) 555-0100,same as line 2\n"  # line 6
        "212.555.0199,on the list\n"  # line 7
        "not a number,letters\n"  # line 8
    )
    result = read(text, do_not_call=dnc)
    assert [c.line for c in result.contacts] == [2]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, RejectReason.MISSING),
        (4, RejectReason.INVALID),
        (5, RejectReason.INVALID),
        (6, RejectReason.DUPLICATE),
        (7, RejectReason.DO_NOT_CALL),
        (8, RejectReason.INVALID),
    ]
    assert result.count(RejectReason.INVALID) == 3


def test_a_quoted_field_spanning_lines_keeps_line_numbers_true() -> None:
    result = read('phone,note\n2125550100,"two\nlines"\n2125550101,x\n')
    assert [(c.line, c.variables["note"]) for c in result.contacts] == [(2, "two\nlines"), (4, "x")]


def test_number_column_is_configurable_and_case_insensitive() -> None:
    result = read("MOBILE,x\n2125550100,1\n", number_column="mobile")
    assert [c.number for c in result.contacts] == ["+12125550100"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("name,email\nAnn,a@b\n", "no 'phone' column"), ("phone,Name,name\n", "two columns")],
)
def test_unusable_files_are_errors(text: str, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        read(text)


def test_progress_is_reported_while_reading() -> None:
    seen: list[int] = []
    rows = "".join(f"212555{n:04d}\n" for n in range(250))
    read("phone\n" + rows, on_progress=seen.append, progress_every=100)
    assert seen == [100, 200, 250]


def test_variable_names_are_safe_identifiers() -> None:
    assert variable_name(" First Name ") == "first_name"
    assert variable_name("1st") == "v_1st"
    assert variable_name("a,b{c}'d") == "a_b_c_d"


def test_do_not_call_list_skips_comments_and_bad_entries() -> None:
    numbers = read_do_not_call(
        ["# list\n", "212-555-0100\n", "\n", "garbage\n", "+44 20 7946 0000 # uk\n"], "US"
    )
    assert numbers == {"+12125550100", "+442079460000"}


def test_single_numbers() -> None:
    assert to_e164("+1 (415) 555-0100", "GB") == "+14155550100"
    assert time_zone_of("+14155550100") == "America/Los_Angeles"
    assert time_zone_of("+18005550199") is None  # toll-free: no single zone
