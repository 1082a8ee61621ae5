"""The pure pieces: spoken numbers, dates and times, yes/no, sentence cutting, SSE and chunk assembly."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.dialog.base import Dtmf, Transfer, Utterance, check_destination
from app.dialog.matchers import Digits, Keywords, Number, YesNo, yes_or_no
from app.dialog.openai_wire import ChunkAssembler, SseDecoder, WireError, error_text
from app.dialog.sentences import SentenceSplitter
from app.dialog.spoken_dates import parse_when
from app.dialog.spoken_numbers import digit_string, first_number
from app.dialog.templates import TemplateError, placeholders, render

MONDAY = datetime(2025, 3, 3, 9, 0)


@pytest.mark.parametrize(
    ("text", "number", "digits"),
    [
        ("twenty five", 25, "25"),
        ("two hundred and five people", 205, "205"),
        ("one two oh four", 1, "1204"),
        ("I'd like 3", 3, "3"),
        ("no numbers here", None, None),
    ],
)
def test_spoken_numbers(text: str, number: int | None, digits: str | None) -> None:
    assert first_number(text) == number
    assert digit_string(text) == digits


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("tomorrow at nine", "2025-03-04T09:00"),
        ("next friday at half past three", "2025-03-07T15:30"),
        ("the fifth of april at 2 pm", "2025-04-05T14:00"),
        ("march second", "2026-03-02"),  # already past this year
        ("quarter to eleven", "10:45"),
        ("wednesday at 4:15", "2025-03-05T16:15"),
        ("thursday evening at seven", "2025-03-06T19:00"),
    ],
)
def test_dates_and_times(text: str, iso: str) -> None:
    when = parse_when(text, MONDAY)
    assert when is not None and when.iso() == iso


def test_no_date_in_plain_talk() -> None:
    assert parse_when("I want to speak to someone", MONDAY) is None


@pytest.mark.parametrize(
    ("text", "meaning"),
    [("yes please", True), ("that's not right", False), ("I don't think so", False), ("sounds good", True),
     ("hmm", None)],
)  # fmt: skip
def test_yes_or_no(text: str, meaning: bool | None) -> None:
    assert yes_or_no(text) is meaning


def test_matchers_on_speech_and_keys() -> None:
    assert YesNo(True).match(Dtmf("1"), MONDAY) is not None
    assert YesNo(True).match(Utterance("nope"), MONDAY) is None
    assert Keywords(("speak to someone",)).match(Utterance("Can I speak to someone?"), MONDAY) is not None
    assert Keywords(("person",)).match(Utterance("personal matter"), MONDAY) is None
    captured = Number(1, 8).match(Utterance("a table for twenty, no, for six"), MONDAY)
    assert captured is not None and captured.value == "6"
    pin = Digits(4, 4).match(Dtmf("1234#"), MONDAY)
    assert pin is not None and pin.value == "1234"


def test_transfer_destinations_are_checked() -> None:
    assert check_destination("1000") == "1000"
    assert Transfer("sip:agent@pbx.example.com:5060").is_sip_uri
    for bad in ("10 00", "sip:a@b c", "1000'", "a\nb", ""):
        with pytest.raises(ValueError):
            check_destination(bad)


def test_templates() -> None:
    assert placeholders("Hi {name}, {{literal}} at {time}") == ["name", "time"]
    assert render("Hi {name}, see you {when}.", {"name": "Ada"}) == "Hi Ada, see you ."
    with pytest.raises(TemplateError):
        placeholders("Hi {first name}")


def test_sentences_come_out_as_soon_as_they_end() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Dr. Smith can see") == []
    assert splitter.feed(" you at 3.30 today. Does") == ["Dr. Smith can see you at 3.30 today."]
    assert splitter.feed(" that work?") == []  # the "?" might still be followed by more punctuation
    assert splitter.feed(" Great") == ["Does that work?"]
    assert splitter.flush() == "Great"


def test_sse_decoder_handles_comments_multiline_and_crlf() -> None:
    decoder = SseDecoder()
    events = [
        decoder.feed_line(line) for line in [": ping", "", 'data: {"a":', "data: 1}\r", "", "data:[DONE]"]
    ]
    assert [e for e in events if e] == ['{"a":\n1}']
    assert decoder.end() == "[DONE]"


def test_chunk_assembler_rejects_errors_mid_stream() -> None:
    assembler = ChunkAssembler()
    with pytest.raises(WireError, match="overloaded"):
        assembler.add('{"error": {"message": "overloaded", "type": "server_error"}}')
    assert error_text(b'{"error": {"message": "Rate limit reached"}}') == "Rate limit reached"
    assert error_text(b"<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
