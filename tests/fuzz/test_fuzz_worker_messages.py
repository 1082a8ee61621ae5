"""Fuzzing mod_audio_stream's text and audio frames, on both ends: the worker's wire and the controller's call.

The worker reads the ``start`` metadata, the controller's ``send_text`` notices and L16 audio frames
(:mod:`app.media.wire`): anything else than a :class:`~app.media.wire.WireError` is a crash. The worker's
results come back to the controller as ``CUSTOM mod_audio_stream::json`` events; whatever their bodies say,
the call's state machine must neither raise nor produce a call record that cannot be stored (a NaN or an
infinite time in a turn's timings is refused by PostgreSQL's JSON). Every message the worker builds
validates against its schema and survives the JSON round trip.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.control import actions as a
from app.control.callinfo import call_info_from_channel
from app.control.session import CallSession, SessionPolicy
from app.dialog import base as d
from app.esl.protocol import Event, MessageReader, connect_reply_event
from app.media import messages, wire
from app.media.messages import MessageError
from app.sim.stream_messages import handle_server_text
from tests.fuzz.fuzzing import examples
from tests.fuzz.strategies import JSON_NUMBER, JSON_VALUE, TEXT_FRAMES

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
POLICY = SessionPolicy(media_url="ws://127.0.0.1:8090", goodbye="Bye now.", max_no_input=2)
CALL_ID = wire.call_id_from_path("/call/9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1")


# --- the worker's side of the wire ----------------------------------------------------------------


@settings(max_examples=examples(300))
@given(text=TEXT_FRAMES)
@example(text="[" * 5000)  # found by fuzzing: json.loads raised RecursionError out of the stream
def test_metadata_and_control_frames_parse_or_raise_wire_error(text: str) -> None:
    try:
        metadata = wire.parse_metadata(text, CALL_ID)
    except wire.WireError as exc:
        assert str(exc)
    else:
        assert metadata.uuid == CALL_ID
        assert metadata.rate % 8000 == 0 and 8000 <= metadata.rate <= wire.MAX_RATE
    try:
        control = wire.parse_control(text)
    except wire.WireError as exc:
        assert str(exc)
    else:
        assert isinstance(control["type"], str)


@settings(max_examples=examples(200))
@given(rate=JSON_NUMBER | st.sampled_from([8000, 16000, 48000, 8000 * 10**30, True]))
@example(rate=8000 * 10**30)  # found by fuzzing: a multiple of 8000 that no resampler can take
def test_a_stream_rate_is_one_mod_audio_stream_can_send(rate: object) -> None:
    text = json.dumps({"uuid": CALL_ID, "rate": rate})
    try:
        metadata = wire.parse_metadata(text, CALL_ID)
    except wire.WireError:
        return
    assert metadata.rate in (8000, 16000, 24000, 32000, 40000, 48000)


@settings(max_examples=examples(200))
@given(
    path=st.one_of(st.text(max_size=60), st.from_regex(r"/call/[0-9a-fA-F-]{36}/?(\?.*)?\n?", fullmatch=True))
)
@example(path="/call/9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1\n")
def test_a_stream_path_names_one_canonical_call_or_is_refused(path: str) -> None:
    try:
        call_id = wire.call_id_from_path(path)
    except wire.WireError as exc:
        assert str(exc)
        return
    assert "\n" not in call_id and path.lower().startswith(f"/call/{call_id}")


@settings(max_examples=examples(100))
@given(frame=st.binary(max_size=wire.MAX_FRAME_BYTES + 3))
def test_an_audio_frame_is_whole_samples_or_a_wire_error(frame: bytes) -> None:
    try:
        samples = wire.decode_audio(frame)
    except wire.WireError as exc:
        assert str(exc)
        return
    assert samples.dtype.itemsize == 2 and samples.size * 2 == len(frame)


# --- the worker's results: schema and round trip ----------------------------------------------------

TIMES = st.floats(min_value=0, max_value=10**7, allow_nan=False)


@st.composite
def built_messages(draw: st.DrawFn) -> dict[str, object]:
    """Any message the worker's own builders make."""
    text, start, end, decided = draw(st.text(max_size=40)), draw(TIMES), draw(TIMES), draw(TIMES)
    reason = draw(st.sampled_from(messages.REASONS))
    return draw(
        st.sampled_from(
            [
                messages.speech_onset(start),
                messages.speech_cancelled(start),
                messages.speech_started(start),
                messages.hypothesis(text, start, end),
                messages.partial(text, start),
                messages.speech_stopped(start, end, decided, reason),
                messages.utterance(
                    text=text, confidence=draw(st.floats(allow_nan=False)), start_ms=start, end_ms=end,
                    decided_ms=decided, stt_ms=draw(TIMES), engine="whisper", reason=reason,
                    speculative=draw(st.booleans()),
                ),
                messages.stt_rejected(
                    reason=draw(st.sampled_from(messages.REJECTIONS)), chars=draw(st.integers(0, 10**6)),
                    start_ms=start, end_ms=end, engine="whisper",
                ),
            ]
        )
    )  # fmt: skip


@settings(max_examples=examples(200))
@given(message=built_messages())
def test_every_built_message_is_valid_and_survives_the_wire(message: dict[str, object]) -> None:
    messages.validate(message)
    text = wire.encode_message(message)
    assert messages.read(text) == message
    assert json.loads(text) == message


@settings(max_examples=examples(300))
@given(text=TEXT_FRAMES)
def test_validate_and_read_raise_only_message_error(text: str) -> None:
    try:
        message = messages.read(text)
    except MessageError as exc:
        assert str(exc)
        return
    assert isinstance(message, dict)
    json.dumps(message, allow_nan=False)  # every number read is finite
    try:
        messages.validate(message)
    except MessageError as exc:
        assert str(exc)


# --- the controller's call, fed whatever the worker (or anything on the stream) says ------------------


@pytest.fixture(scope="module")
def channel(fs_fixtures: Path) -> Event:
    data = (fs_fixtures / "outbound-socket-call.received.txt").read_bytes()
    return connect_reply_event(next(iter(MessageReader().feed(data))))


def worker_event(session: CallSession, body: str) -> Event:
    return Event(
        headers={"Event-Name": "CUSTOM", "Event-Subclass": "mod_audio_stream::json", "Unique-ID": session.info.uuid},
        body=body,
    )  # fmt: skip


def assert_storable(actions: list[a.Action]) -> None:
    """What the controller would write to the call log is plain, finite JSON."""
    for action in actions:
        if isinstance(action, a.RecordTurn):
            json.dumps(dict(action.timings), allow_nan=False)
        elif isinstance(action, a.RecordEvent):
            json.dumps(dict(action.detail), allow_nan=False, default=str)


ITEMS = st.lists(
    st.one_of(
        TEXT_FRAMES.map(lambda body: ("worker", body)),
        st.sampled_from(["no_input", "amd", "stream_retry", "eou"]).map(lambda name: ("timer", name)),
        st.just(("agent_done", "")),
        st.just(("speech", "")),
    ),
    max_size=12,
)


@settings(max_examples=examples(150))
@given(items=ITEMS, amd=st.sampled_from([None, "hangup", "voicemail"]))
@example(
    items=[("worker", '{"type":"speech_stopped","start_ms":0,"end_ms":0,"decided_ms":Infinity}'),
           ("worker", '{"type":"utterance","text":"yes","start_ms":0,"end_ms":1,"decided_ms":2}')],
    amd=None,
)  # fmt: skip  # found by fuzzing: int(inf) raised OverflowError in the dialogue
@example(
    items=[("worker", '{"type":"speech_stopped","start_ms":0,"end_ms":0,"decided_ms":1' + "0" * 400 + "}"),
           ("worker", '{"type":"utterance","text":"yes","start_ms":NaN,"end_ms":1,"decided_ms":2}')],
    amd=None,
)  # fmt: skip
def test_the_call_survives_any_worker_message(
    channel: Event, items: list[tuple[str, str]], amd: str | None
) -> None:
    headers = dict(channel.headers)
    if amd is not None:
        headers.update({"variable_callbridge_direction": "outbound", "variable_callbridge_amd": amd})
    session = CallSession(replace(call_info_from_channel(Event(headers=headers)), answered=True), POLICY)
    now = NOW
    out = session.start(now)
    for kind, value in items:
        now += timedelta(milliseconds=300)
        if kind == "worker":
            out = session.handle(worker_event(session, value), now)
        elif kind == "timer":
            out = session.handle(a.TimerFired(value), now)
        elif kind == "agent_done":
            turn = session.dialogue.counter
            out = session.handle(a.AgentOutput(turn, d.Say("Right.")), now)
            out += session.handle(a.AgentDone(turn), now)
        else:
            for render in [x for x in out if isinstance(x, a.Render)]:
                out += session.handle(a.SpeechReady(render.tag, Path(f"/tmp/{render.tag}.wav"), 1000), now)
        assert isinstance(out, list)
        assert_storable(out)
    session.handle(a.ConnectionLost("test over"), now)


@settings(max_examples=examples(100))
@given(value=JSON_NUMBER)
def test_an_out_of_range_number_is_refused_with_its_field(value: int | float) -> None:
    text = json.dumps({"type": "speech_started", "start_ms": value})
    finite = math.isfinite(float(value)) if abs(value) < 10**300 else False
    finite = finite and abs(value) <= messages.MAX_NUMBER
    try:
        message = messages.read(text)
    except MessageError as exc:
        assert not finite and "number" in str(exc)
        return
    assert finite and message["start_ms"] == value


# --- the stand-in's mod_audio_stream: what it makes of the worker's text frames -----------------------


@settings(max_examples=examples(200))
@given(text=TEXT_FRAMES | JSON_VALUE.map(lambda data: json.dumps({"type": "streamAudio", "data": data})))
@example(text=json.dumps({"type": "streamAudio", "data": {"audioDataType": "raw", "sampleRate": float("inf"),
                                                            "audioData": ""}}))  # fmt: skip  # int(inf)
@example(text="[" * 5000)  # found by fuzzing: RecursionError out of the stand-in's stream reader
def test_the_stand_in_fires_an_event_for_any_worker_frame(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    message = handle_server_text(
        text, uuid=str(CALL_ID), file_index=1, temp_dir=tmp_path_factory.getbasetemp()
    )
    assert message.subclass.startswith("mod_audio_stream::") and isinstance(message.body, str)
