"""Fuzzing the Event Socket wire: the controller's reader, its event parser, and the commands it builds.

Properties: any bytes FreeSWITCH (or anything on the port) may send give messages or a
:class:`~app.esl.protocol.ProtocolError`, never another exception; how the bytes are split across reads
does not change what is read; an event the stand-in serializes exactly as FreeSWITCH does (plain or JSON)
parses back to the same headers and body; a command the controller frames reaches FreeSWITCH's parser as
exactly that one command; the command builders refuse (``UnsafeValue``) anything that would change a
command's meaning.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.esl import commands
from app.esl.protocol import (
    CONTENT_COMMAND_REPLY,
    EslMessage,
    MessageReader,
    ProtocolError,
    connect_reply_event,
    parse_event,
    parse_json_event,
    serialize_command,
)
from app.sim import wire as sim_wire
from app.sim.switch import FakeSwitch
from tests.fuzz.fuzzing import examples
from tests.fuzz.strategies import ESL_BYTES


def read_all(chunks: list[bytes]) -> tuple[list[EslMessage], bool]:
    """Every message the chunks make, and whether the reader stopped on a protocol error."""
    reader = MessageReader()
    messages: list[EslMessage] = []
    try:
        for chunk in chunks:
            messages.extend(reader.feed(chunk))
    except ProtocolError as exc:
        assert str(exc), "a protocol error must say what is wrong"
        return messages, True
    return messages, False


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=examples(300))
@given(data=ESL_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=2048), max_size=8))
@example(data=b"Content-Length: \xd9\xa1\n\n", cuts=[])
@example(data=b"Content-Length: \xc2\xb2\n\n", cuts=[])  # '²': isdigit() but int() refuses it
@example(data=b"Content-Length: " + b"9" * 5000 + b"\n\n", cuts=[])  # over int()'s digit limit
@example(data=b"Content-Type: text/event-json\nContent-Length: 2000\n\n" + b"[" * 2000, cuts=[7])
def test_any_bytes_are_messages_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    whole, whole_failed = read_all([data])
    chunked, chunked_failed = read_all(split(data, cuts))
    assert (chunked, chunked_failed) == (whole, whole_failed)
    for message in whole:
        if message.is_event:
            try:
                event = parse_event(message)
            except ProtocolError as exc:
                assert str(exc)
                continue
            assert isinstance(event.name, str) and isinstance(event.body, str)
        if message.content_type == CONTENT_COMMAND_REPLY:
            event = connect_reply_event(message)  # a command/reply always reads as a channel
            assert all(isinstance(value, str) for value in event.headers.values())
        assert isinstance(message.reply_text, str) and isinstance(message.body_text, str)


@settings(max_examples=examples(200))
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4),
                    max_leaves=20))  # fmt: skip
@example(json.loads("[" * 50 + "]" * 50))
def test_any_json_event_body_parses_or_is_refused(value: object) -> None:
    data = json.dumps(value).encode()
    try:
        event = parse_json_event(data)
    except ProtocolError:
        assert not isinstance(value, dict)
        return
    assert isinstance(value, dict)
    assert set(event.headers) == {name for name in value if name != "_body"}


def test_a_json_event_nested_too_deeply_is_a_protocol_error() -> None:
    """Found by fuzzing: json.loads raised RecursionError, which killed the connection's reader greenlet."""
    deep = b"[" * 100_000
    try:
        parse_json_event(deep)
    except ProtocolError as exc:
        assert "JSON" in str(exc)
    else:
        raise AssertionError("a 100000-deep array is not an event")


# --- round trips: the stand-in serializes as FreeSWITCH does, the controller parses -------------------

HEADER_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,24}", fullmatch=True).filter(
    lambda name: name.lower() not in ("content-length", "content-type")
)
# switch_url_encode keeps an existing %XX escape as it is, so such a value does not survive a round
# trip through FreeSWITCH either; everything else must.
VALUE = st.text(max_size=40).filter(lambda v: not _has_escape(v))
ARRAY = st.lists(st.text(min_size=1, max_size=10).filter(lambda v: "|:" not in v and not _has_escape(v)),
                 min_size=1, max_size=4)  # fmt: skip


def _has_escape(value: str) -> bool:
    hexdigits = "0123456789abcdefABCDEF"
    return any(
        value[i] == "%" and value[i + 1 : i + 2] in set(hexdigits) and value[i + 2 : i + 3] in set(hexdigits)
        for i in range(len(value))
    )


@st.composite
def sim_events(draw: st.DrawFn) -> sim_wire.Event:
    names = draw(st.lists(HEADER_NAME, unique_by=str.lower, max_size=8))
    event = sim_wire.Event(name="CUSTOM")
    for name in names:
        value: str | list[str] = draw(ARRAY) if draw(st.booleans()) else draw(VALUE.filter(bool))
        event.add(name, value)
    event.body = draw(st.none() | st.text(min_size=1, max_size=200))
    return event


@settings(max_examples=examples(200))
@given(
    event=sim_events(), fmt=st.sampled_from(["plain", "json"]), cut=st.integers(min_value=0, max_value=600)
)
def test_an_event_framed_by_the_stand_in_parses_back(event: sim_wire.Event, fmt: str, cut: int) -> None:
    framed = sim_wire.frame_event(event, fmt)
    messages, failed = read_all([framed[:cut], framed[cut:]])
    assert not failed and len(messages) == 1
    parsed = parse_event(messages[0])
    for name, value in event.headers:
        assert parsed.headers[name] == sim_wire.array_to_text(value)
        if isinstance(value, list):
            assert parsed.lists[name] == tuple(value)
    assert parsed.body == (event.body or "")


LINE_TEXT = st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=examples(200))
@given(
    command=LINE_TEXT.filter(lambda text: bool(text) and not text.startswith((" ", "\t"))),
    headers=st.dictionaries(HEADER_NAME, LINE_TEXT.filter(lambda v: not v.startswith(" ")), max_size=5),
    body=st.text(max_size=200),
)
def test_a_framed_command_reaches_freeswitch_whole(command: str, headers: dict[str, str], body: str) -> None:
    """What the controller frames, mod_event_socket's read_packet (the stand-in's parser) reads as one command."""
    lowered = {name.lower() for name in headers}
    if len(lowered) != len(headers):
        return
    parsed = list(sim_wire.CommandParser().feed(serialize_command(command, headers, body)))
    assert len(parsed) == 1
    assert parsed[0].line == command
    for name, value in headers.items():
        assert parsed[0].header(name) == value
    assert (parsed[0].body or "") == body


# --- the command builders: refuse what would change a command's meaning ------------------------------

FREE_TEXT = st.text(max_size=60)
UUID = str(uuid.UUID(int=0x1234))
API_SWITCH = FakeSwitch(password="x")  # never started: its API, without sockets or calls


def sent_as_one_command(command: str) -> bool:
    """The command, as the controller sends it, is one packet whose first line is the command."""
    parsed = list(sim_wire.CommandParser().feed(serialize_command(f"api {command}")))
    return len(parsed) == 1 and parsed[0].line == f"api {command}" and not parsed[0].headers


@settings(max_examples=examples(200))
@given(name=FREE_TEXT, value=FREE_TEXT, digits=FREE_TEXT, destination=FREE_TEXT, caller=FREE_TEXT)
@example(name="x", value="a\nb", digits="1\n\nexit", destination="x y", caller='it\'s "me"\\\n\u2028')
def test_command_builders_refuse_or_build_one_safe_command(
    name: str, value: str, digits: str, destination: str, caller: str
) -> None:
    builders: list[Callable[[], str]] = [
        lambda: commands.uuid_setvar(UUID, name, value),
        lambda: commands.uuid_getvar(UUID, name),
        lambda: commands.uuid_send_dtmf(UUID, digits),
        lambda: commands.uuid_transfer(UUID, destination),
        lambda: commands.uuid_transfer_bridge(UUID, destination),
        lambda: commands.uuid_broadcast(UUID, "/" + value),
        lambda: commands.uuid_setvar(value, "x", "1"),
        lambda: commands.originate({name: value}, [destination], "&park()"),
        lambda: commands.audio_stream_send_text(UUID, {"type": "note", "text": value}),
    ]
    for build in builders:
        try:
            command = build()
        except commands.UnsafeValue as exc:
            assert str(exc)
            continue
        assert sent_as_one_command(command), command
    # Free text (the caller's name, what the agent says) is always made safe, never refused.
    start = commands.audio_stream_start(
        UUID, "ws://127.0.0.1:1/call/x", "mono", 8000, {"caller": commands.plain_text(caller)}
    )
    assert sent_as_one_command(start)
    assert commands.audio_stream_send_text(UUID, {"text": commands.plain_text(value)})


# --- the stand-in's side: mod_event_socket's read_packet and switch_url_encode ----------------------


@settings(max_examples=examples(300))
@given(data=ESL_BYTES, cut=st.integers(min_value=0, max_value=2048))
@example(data=b"api status\nContent-Length: \xc2\xb2\n\n", cut=0)  # found by fuzzing: int("²")
@example(data=b"api status\nContent-Length: " + b"9" * 5000 + b"\n\n", cut=0)  # over int()'s limit
def test_the_stand_in_reads_any_client_bytes_as_commands(data: bytes, cut: int) -> None:
    """The stand-in's inbound parser (FreeSWITCH's read_packet) never fails, however the bytes are split."""
    whole = list(sim_wire.CommandParser().feed(data))
    parser = sim_wire.CommandParser()
    chunked = [*parser.feed(data[:cut]), *parser.feed(data[cut:])]
    assert [(c.line, c.headers, c.body) for c in chunked] == [(c.line, c.headers, c.body) for c in whole]
    for command in whole:
        assert "\n" not in command.line


@settings(max_examples=examples(300))
@given(value=st.text(max_size=60))
def test_url_encoding_is_one_line_and_decodes_back(value: str) -> None:
    encoded = sim_wire.url_encode(value)
    assert encoded.isascii() and not any(c in encoded for c in "\r\n :")
    if not _has_escape(value):
        assert sim_wire.url_decode(encoded) == value


API_NAMES = st.sampled_from(["status", "show", "uuid_getvar", "uuid_setvar", "uuid_kill", "uuid_break",
                             "uuid_broadcast", "uuid_fileman", "uuid_answer", "uuid_transfer", "uuid_send_dtmf",
                             "uuid_exists", "uuid_audio_stream", "avmd", "nonsense"])  # fmt: skip
API_ARGS = st.lists(
    st.one_of(st.sampled_from([str(uuid.uuid4()), "start", "stop", "send_text", "ws://127.0.0.1:1/x", "mono",
                               "²", "16k", "9" * 5000, "channels", "as", "json", "''", "{}", "aleg"]),
              st.text(max_size=12)),
    max_size=6,
).map(" ".join)  # fmt: skip


@settings(max_examples=examples(200))
@given(name=API_NAMES, arg=API_ARGS)
@example(name="uuid_audio_stream", arg=f"{UUID} start ws://127.0.0.1:1/x mono ²")  # no channel: refused first
def test_the_stand_in_answers_any_api_command(name: str, arg: str) -> None:
    """Every ``api`` command line gets FreeSWITCH's kind of answer, never an internal error."""
    answer = API_SWITCH.api.execute(name, arg)
    assert isinstance(answer, str)
    assert "internal error" not in answer


@settings(max_examples=examples(200))
@given(text=st.one_of(st.text(max_size=12), st.sampled_from(["²", "-7", "+20", "--5", " 42abc", "9" * 5000])))
def test_atoi_is_cs_atoi(text: str) -> None:
    value = sim_wire.atoi(text)
    assert abs(value) < 10**18
    head = text.strip()
    digits = head[1:] if head[:1] in "+-" and head[:1] else head
    if digits[:1] not in set("0123456789"):
        assert value == 0
