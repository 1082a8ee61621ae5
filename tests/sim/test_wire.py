"""Pure parts of the stand-in: URL encoding, event serialisation, command parsing, arg splitting,
subscriptions. Expected values come from the FreeSWITCH 1.10.12 fixtures."""

from __future__ import annotations

import json

import pytest

from app.sim.args import separate_blank
from app.sim.cdr import cdr_variables
from app.sim.profile import CallerProfile
from app.sim.subscriptions import Subscriptions
from app.sim.wire import (
    CommandParser,
    Event,
    frame_event,
    serialize_json,
    serialize_plain,
    url_decode,
    url_encode,
)
from tests.sim.transcript import FIXTURES, parse_message, read_transcript


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("fd00::2", "fd00%3A%3A2"),
        ("Fri, 27 Nov 2026 15:15:04 GMT", "Fri,%2027%20Nov%202026%2015%3A15%3A04%20GMT"),
        ("+OK\n", "%2BOK%0A"),
        (
            "ARRAY::DELAYED NEGOTIATION|:DELAYED NEGOTIATION",
            "ARRAY%3A%3ADELAYED%20NEGOTIATION%7C%3ADELAYED%20NEGOTIATION",
        ),
        ("v=0\r\nm=audio 6000 RTP/AVP 0", "v%3D0%0D%0Am%3Daudio%206000%20RTP/AVP%200"),
        ("100%25 kept", "100%25%20kept"),
        ("é", "%C3%A9"),
    ],
)
def test_url_encoding_matches_freeswitch(raw: str, encoded: str) -> None:
    assert url_encode(raw) == encoded


def test_url_decode_inverts_encode() -> None:
    text = 'sipp <sip:sipp@127.0.0.1:5072>;tag=1 "x" é'
    assert url_decode(url_encode(text)) == text


def test_plain_event_with_body_is_byte_exact_with_the_fixture() -> None:
    blocks = read_transcript(FIXTURES / "inbound-esl.txt")
    raw = next(b.data for b in blocks if b"Event-Name: BACKGROUND_JOB" in b.data)
    message = parse_message(raw)
    headers: list[tuple[str, str | list[str]]] = [(k, v) for k, v in message.event if k != "Content-Length"]
    event = Event(name="BACKGROUND_JOB", headers=headers, body=message.event_body)
    assert frame_event(event, "plain") == raw


def test_json_event_keeps_duplicates_arrays_and_body() -> None:
    event = Event(
        name="CUSTOM", headers=[("Event-Name", "CUSTOM"), ("variable_DP_MATCH", ["a", "b"])], body="hé"
    )
    text = serialize_json(event)
    assert text == '{"Event-Name":"CUSTOM","variable_DP_MATCH":["a","b"],"Content-Length":"3","_body":"hé"}'
    assert json.loads(text)["_body"] == "hé"


def test_plain_event_without_body_ends_with_a_blank_line_and_empty_values_are_undef() -> None:
    event = Event(name="X", headers=[("Event-Name", "X"), ("Empty", "")])
    assert serialize_plain(event) == "Event-Name: X\nEmpty: _undef_\n\n"


def test_command_parser_handles_split_reads_bodies_and_blank_lines() -> None:
    parser = CommandParser()
    assert list(parser.feed(b"\n\r\napi sta")) == []
    commands = list(parser.feed(b"tus\n\nsendmsg\r\ncall-command: execute\r\nContent-Length: 5\r\n\r\nhello"))
    assert [c.line for c in commands] == ["api status", "sendmsg"]
    assert commands[1].header("Call-Command") == "execute"
    assert commands[1].body == "hello"


def test_command_parser_survives_binary_garbage() -> None:
    parser = CommandParser()
    commands = list(parser.feed(b"\x00\xff\xfe garbage\n\n\x01\x02"))
    assert len(commands) == 1
    assert commands[0].line.startswith("\x00")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ('u send_text {"a": 1}', ["u", "send_text", '{"a":', "1}"]),
        ("u send_text '{\"a\": 1}'", ["u", "send_text", '{"a": 1}']),
        ("x &socket('127.0.0.1:8084 async full')", ["x", "&socket(127.0.0.1:8084 async full)"]),
        ("  a   b  ", ["a", "b"]),
        ("a\\ b c", ["a\\ b", "c"]),
    ],
)
def test_api_arguments_split_like_switch_separate_string(text: str, parts: list[str]) -> None:
    assert separate_blank(text, 10) == parts


def test_last_argument_keeps_the_rest_when_the_array_is_full() -> None:
    assert separate_blank("uuid var value with spaces", 3) == ["uuid", "var", "value with spaces"]


def test_every_token_after_custom_is_a_subclass() -> None:
    subs = Subscriptions()
    keys = subs.add_events(["CUSTOM", "mod_audio_stream::json", "PLAYBACK_START", "BACKGROUND_JOB"])
    assert keys == 1
    assert subs.subclasses == {"mod_audio_stream::json", "PLAYBACK_START", "BACKGROUND_JOB"}
    assert not subs.wants(Event(name="PLAYBACK_START"))
    assert subs.wants(Event(name="CUSTOM", subclass="mod_audio_stream::json"))
    assert not subs.wants(Event(name="CUSTOM", subclass="other::x"))


def test_myevents_filters_by_uuid_and_job_owner() -> None:
    subs = Subscriptions()
    subs.enable_myevents("u1")
    subs.add_events(["BACKGROUND_JOB"])
    mine = Event(name="CHANNEL_ANSWER", headers=[("Unique-ID", "u1")])
    other = Event(name="CHANNEL_ANSWER", headers=[("Unique-ID", "u2")])
    job = Event(name="BACKGROUND_JOB", headers=[("Job-Owner-UUID", "u1")])
    assert subs.wants(mine)
    assert not subs.wants(other)
    assert subs.wants(job)
    assert not subs.wants(Event(name="CUSTOM", headers=[("Unique-ID", "u1")], subclass="a::b"))


def test_all_then_nixevent_and_filters() -> None:
    subs = Subscriptions()
    subs.add_events(["ALL"])
    subs.remove_events(["DTMF"])
    assert not subs.wants(Event(name="DTMF"))
    assert subs.wants(Event(name="CHANNEL_ANSWER"))
    subs.filters.append(("Unique-ID", "u1"))
    assert subs.wants(Event(name="CHANNEL_ANSWER", headers=[("Unique-ID", "u1")]))
    assert not subs.wants(Event(name="CHANNEL_ANSWER", headers=[("Unique-ID", "u2")]))


def test_cdr_durations_count_from_creation_and_answer() -> None:
    profile = CallerProfile(
        direction="inbound",
        uuid="u",
        channel_name="sofia/internal/x",
        destination_number="1",
        context="public",
        source="mod_sofia",
        caller_id_number="100",
        caller_id_name="A",
        created_us=1_000_000_000,
        answered_us=1_002_000_000,
    )
    values = cdr_variables(profile, end_us=1_009_500_000, last_app="park")
    assert values["duration"] == "9"
    assert values["billsec"] == "7"
    assert values["billmsec"] == "7500"
    assert values["answersec"] == "2"
    assert values["caller_id"] == '"A" <100>'
    assert "progress_stamp" not in values
