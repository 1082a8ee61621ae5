"""Fuzzing what a channel's events say: the call's state machine reads header values that FreeSWITCH copies
from the dialplan, the caller's SIP headers and other modules, so any text may be there.

Properties: the channel data (the ``connect`` reply) gives a :class:`~app.control.callinfo.CallInfo` or a
ValueError (the controller then refuses the call); events with fuzzed timestamps, codec rates, durations
and causes never make :meth:`CallSession.handle` raise; and the call's end is always a record the call log
can store (``billsec``/``duration`` non-negative and within its INTEGER columns, times real datetimes).
The dialer's hang-up watch, fed the same events over its inbound connection, hands every one to its waiter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.control import actions as a
from app.control.callinfo import MAX_SECONDS, call_info_from_channel
from app.control.session import CallSession, SessionPolicy
from app.dialer.hangups import HangupWatch
from app.esl.protocol import Event, MessageReader, connect_reply_event
from tests.fuzz.fuzzing import examples

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
POLICY = SessionPolicy(media_url="ws://127.0.0.1:8090", goodbye="Bye now.")
NUMERIC_HEADERS = (
    "Event-Date-Timestamp",
    "Channel-Write-Codec-Rate",
    "variable_write_rate",
    "variable_rtp_use_codec_rate",
    "variable_billsec",
    "variable_duration",
)
NUMBERISH = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["²", "١٢", "-5", " 8000 ", "9" * 5000, "253402300800000000", "0", ""]),
)
EVENT_NAMES = st.sampled_from(
    ["CHANNEL_ANSWER", "PLAYBACK_START", "PLAYBACK_STOP", "DTMF", "CHANNEL_HANGUP", "CUSTOM", "HEARTBEAT"]
)


@pytest.fixture(scope="module")
def channel(fs_fixtures: Path) -> Event:
    data = (fs_fixtures / "outbound-socket-call.received.txt").read_bytes()
    return connect_reply_event(next(iter(MessageReader().feed(data))))


@st.composite
def fuzzed_headers(draw: st.DrawFn) -> dict[str, str]:
    headers = {name: draw(NUMBERISH) for name in draw(st.sets(st.sampled_from(NUMERIC_HEADERS), max_size=6))}
    for name in draw(st.sets(st.sampled_from(["Hangup-Cause", "DTMF-Digit", "DTMF-Duration",
                                              "Playback-File-Path", "Playback-Status", "Event-Subclass",
                                              "variable_call_type", "Answer-State"]), max_size=4)):  # fmt: skip
        headers[name] = draw(st.text(max_size=20))
    return headers


@settings(max_examples=examples(200))
@given(headers=fuzzed_headers(), uuid=st.one_of(st.none(), st.text(max_size=40)))
def test_channel_data_is_a_call_or_a_value_error(
    channel: Event, headers: dict[str, str], uuid: str | None
) -> None:
    merged = {**channel.headers, **headers}
    if uuid is not None:
        merged["Unique-ID"] = uuid
    try:
        info = call_info_from_channel(Event(headers=merged))
    except ValueError as exc:
        assert uuid is not None and str(exc)
        return
    assert info.rate is None or info.rate > 0


@settings(max_examples=examples(200))
@given(events=st.lists(st.tuples(EVENT_NAMES, fuzzed_headers()), max_size=8), end=fuzzed_headers())
@example(events=[("CHANNEL_ANSWER", {"Channel-Write-Codec-Rate": "²"})], end={})  # found by fuzzing
@example(events=[("DTMF", {"Event-Date-Timestamp": "9" * 30})], end={})  # found by fuzzing
@example(events=[], end={"variable_billsec": "-5", "variable_duration": "9" * 12})  # found by fuzzing
def test_any_event_headers_leave_the_call_and_its_end_storable(
    channel: Event, events: list[tuple[str, dict[str, str]]], end: dict[str, str]
) -> None:
    session = CallSession(replace(call_info_from_channel(channel), answered=True), POLICY)
    uuid = session.info.uuid
    session.start(NOW)
    for name, headers in events:
        session.handle(Event(headers={**headers, "Event-Name": name, "Unique-ID": uuid}), NOW)
    out = session.handle(
        Event(headers={**end, "Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": uuid}), NOW
    )
    ends = [action for action in out if isinstance(action, a.RecordEnd)]
    assert len(ends) == 1
    for value in (ends[0].billsec, ends[0].duration):
        assert value is None or 0 <= value <= MAX_SECONDS
    assert ends[0].at.tzinfo is not None


@settings(max_examples=examples(200))
@given(headers=fuzzed_headers(), answer=NUMBERISH, verdict=st.text(max_size=10))
@example(headers={"variable_billsec": "²"}, answer="", verdict="")  # found by fuzzing: int('²') in feed()
@example(headers={"variable_billsec": "9" * 12}, answer="1", verdict="")  # over the INTEGER column
def test_the_dialer_gets_every_hangup_whatever_it_says(
    headers: dict[str, str], answer: str, verdict: str
) -> None:
    """The dialer's inbound handler hands each CHANNEL_HANGUP_COMPLETE to its waiter, fuzzed or not."""
    watch = HangupWatch()
    uuid = "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"
    waiter = watch.expect(uuid)
    fields = {**headers, "variable_answer_epoch": answer, "variable_callbridge_amd_verdict": verdict}
    watch.feed(Event(headers={**fields, "Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": uuid}))
    hangup = waiter.get(block=False)
    assert hangup.uuid == uuid and hangup.cause
    assert hangup.billsec is None or 0 <= hangup.billsec <= MAX_SECONDS
