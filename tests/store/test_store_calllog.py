from __future__ import annotations

import threading
import uuid as uuid_module
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.store import (
    CallLog,
    CallLogError,
    CallRow,
    NewCall,
    SchemaNotReadyError,
    upgrade,
)

T0 = datetime(2024, 5, 17, 9, 30, 0, 123456, tzinfo=UTC)
PARIS_SUMMER = timezone(timedelta(hours=2))


def new_uuid() -> str:
    return str(uuid_module.uuid4())


def new_call(uuid: str | None = None, *, created_at: datetime = T0, **overrides: object) -> NewCall:
    fields: dict[str, object] = {
        "uuid": uuid or new_uuid(),
        "direction": "outbound",
        "call_type": "sip",
        "caller": "+15550001111",
        "callee": "+15551234567",
        "gateway": "twilio",
        "campaign_ref": "spring-2024",
        "created_at": created_at,
    }
    fields.update(overrides)
    return NewCall(**fields)  # type: ignore[arg-type]


def test_start_call_records_every_field_and_reads_back_aware_utc(call_log: CallLog) -> None:
    call = new_call(created_at=T0.astimezone(PARIS_SUMMER))
    assert call_log.start_call(call) is True
    assert call_log.get_call(call.uuid) == CallRow(
        uuid=call.uuid,
        direction="outbound",
        call_type="sip",
        caller="+15550001111",
        callee="+15551234567",
        gateway="twilio",
        campaign_ref="spring-2024",
        state="ringing",
        created_at=T0,
        answered_at=None,
        ended_at=None,
        hangup_cause=None,
        billsec=None,
        duration=None,
    )
    stored = call_log.get_call(call.uuid)
    assert stored is not None
    assert stored.created_at.tzinfo == UTC


def test_start_call_is_idempotent_by_uuid(call_log: CallLog) -> None:
    call = new_call()
    assert call_log.start_call(call) is True
    assert (
        call_log.start_call(new_call(call.uuid, caller="+1999", created_at=T0 + timedelta(hours=1))) is False
    )
    stored = call_log.get_call(call.uuid)
    assert stored is not None
    assert (stored.caller, stored.created_at) == ("+15550001111", T0)


def test_get_call_of_unknown_uuid_is_none(call_log: CallLog) -> None:
    assert call_log.get_call(new_uuid()) is None


def test_answer_then_end(call_log: CallLog) -> None:
    call = new_call()
    call_log.start_call(call)
    call_log.mark_answered(call.uuid, T0 + timedelta(seconds=4))
    answered = call_log.get_call(call.uuid)
    assert answered is not None
    assert (answered.state, answered.answered_at) == ("answered", T0 + timedelta(seconds=4))

    call_log.end_call(
        call.uuid, at=T0 + timedelta(seconds=64), hangup_cause="NORMAL_CLEARING", billsec=60, duration=64
    )
    ended = call_log.get_call(call.uuid)
    assert ended is not None
    assert (ended.state, ended.ended_at, ended.hangup_cause, ended.billsec, ended.duration) == (
        "ended",
        T0 + timedelta(seconds=64),
        "NORMAL_CLEARING",
        60,
        64,
    )


def test_late_answer_does_not_reopen_an_ended_call(call_log: CallLog) -> None:
    call = new_call()
    call_log.start_call(call)
    call_log.end_call(call.uuid, at=T0, hangup_cause="NO_ANSWER", billsec=0, duration=30, state="failed")
    call_log.mark_answered(call.uuid, T0)
    stored = call_log.get_call(call.uuid)
    assert stored is not None
    assert stored.state == "failed"


def test_end_call_without_start_creates_a_placeholder_that_start_call_fills(call_log: CallLog) -> None:
    uuid = new_uuid()
    ended_at = T0 + timedelta(minutes=2)
    call_log.end_call(uuid, at=ended_at, hangup_cause="NORMAL_CLEARING", billsec=100, duration=110)
    placeholder = call_log.get_call(uuid)
    assert placeholder is not None
    assert (placeholder.direction, placeholder.call_type, placeholder.state) == (
        "unknown",
        "unknown",
        "ended",
    )
    assert (placeholder.created_at, placeholder.ended_at, placeholder.billsec) == (ended_at, ended_at, 100)

    assert call_log.start_call(new_call(uuid, direction="inbound", call_type="webrtc")) is True
    filled = call_log.get_call(uuid)
    assert filled is not None
    assert (filled.direction, filled.call_type, filled.created_at) == ("inbound", "webrtc", T0)
    assert (filled.state, filled.ended_at, filled.hangup_cause) == ("ended", ended_at, "NORMAL_CLEARING")
    assert call_log.start_call(new_call(uuid)) is False


def test_end_call_only_accepts_terminal_states(call_log: CallLog) -> None:
    with pytest.raises(ValueError, match="state"):
        call_log.end_call(new_uuid(), at=T0, hangup_cause=None, billsec=None, duration=None, state="answered")


def test_update_call_sets_allowed_fields(call_log: CallLog) -> None:
    call = new_call()
    call_log.start_call(call)
    call_log.update_call(call.uuid, gateway="vonage", call_type="webrtc", state="answered", billsec=5)
    stored = call_log.get_call(call.uuid)
    assert stored is not None
    assert (stored.gateway, stored.call_type, stored.state, stored.billsec) == (
        "vonage",
        "webrtc",
        "answered",
        5,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"uuid": "x"},
        {"created_at": T0},
        {"ended_at": T0},
        {"gateway": "ok", "nonsense": 1},
        {"state": "bogus"},
        {"call_type": "pstn"},
        {"billsec": -1},
        {"billsec": "12"},
        {"answered_at": datetime(2024, 1, 1)},  # naive
        {},
    ],
)
def test_update_call_rejects_bad_fields_and_changes_nothing(
    call_log: CallLog, fields: dict[str, object]
) -> None:
    call = new_call()
    call_log.start_call(call)
    before = call_log.get_call(call.uuid)
    with pytest.raises(ValueError):
        call_log.update_call(call.uuid, **fields)
    assert call_log.get_call(call.uuid) == before


def test_events_keep_their_order_detail_and_call(call_log: CallLog) -> None:
    call, other = new_call(), new_call()
    call_log.start_call(call)
    call_log.start_call(other)
    names = ["CHANNEL_ANSWER", "DTMF", "PLAYBACK_START", "PLAYBACK_STOP", "CHANNEL_HANGUP_COMPLETE"]
    for offset, name in enumerate(names):
        # Times deliberately out of order: the log keeps the order of arrival.
        call_log.add_event(call.uuid, name, T0 - timedelta(seconds=offset), {"n": offset, "digit": "5"})
    call_log.add_event(other.uuid, "CHANNEL_ANSWER", T0)

    events = call_log.events(call.uuid)
    assert [(e.seq, e.name) for e in events] == list(enumerate(names, start=1))
    assert events[1].detail == {"n": 1, "digit": "5"}
    assert events[4].occurred_at == T0 - timedelta(seconds=4)
    assert [e.name for e in call_log.events(other.uuid)] == ["CHANNEL_ANSWER"]
    assert call_log.events(other.uuid)[0].detail is None


def test_event_for_an_unstarted_call_is_kept(call_log: CallLog) -> None:
    uuid = new_uuid()
    call_log.add_event(uuid, "CHANNEL_HANGUP_COMPLETE", T0, {"Hangup-Cause": "NORMAL_CLEARING"})
    assert [e.name for e in call_log.events(uuid)] == ["CHANNEL_HANGUP_COMPLETE"]
    placeholder = call_log.get_call(uuid)
    assert placeholder is not None
    assert placeholder.direction == "unknown"


def test_turns_are_numbered_within_their_call(call_log: CallLog) -> None:
    call, other = new_call(), new_call()
    call_log.start_call(call)
    call_log.start_call(other)
    timings = {"stt_ms": 180, "llm_first_token_ms": 420.5, "stages": ["vad", "stt"]}
    assert call_log.add_turn(call.uuid, speaker="agent", text="Hello!", started_at=T0, ended_at=None) == 1
    assert (
        call_log.add_turn(
            call.uuid,
            speaker="caller",
            text="Ça va — oui",
            started_at=T0 + timedelta(seconds=2),
            ended_at=T0 + timedelta(seconds=3),
            timings=timings,
        )
        == 2
    )
    assert (
        call_log.add_turn(
            call.uuid,
            speaker="agent",
            text="Sorry",
            started_at=None,
            ended_at=None,
            interrupted=True,
            heard_ms=640,
        )
        == 3
    )
    assert call_log.add_turn(other.uuid, speaker="agent", text="Hi", started_at=T0, ended_at=None) == 1

    turns = call_log.turns(call.uuid)
    assert [(t.seq, t.speaker, t.text) for t in turns] == [
        (1, "agent", "Hello!"),
        (2, "caller", "Ça va — oui"),
        (3, "agent", "Sorry"),
    ]
    assert turns[1].timings == timings
    assert (turns[1].started_at, turns[1].ended_at) == (T0 + timedelta(seconds=2), T0 + timedelta(seconds=3))
    assert (turns[0].interrupted, turns[2].interrupted, turns[2].heard_ms) == (False, True, 640)


def test_add_turn_rejects_bad_values(call_log: CallLog) -> None:
    uuid = new_uuid()
    with pytest.raises(ValueError):
        call_log.add_turn(uuid, speaker="robot", text="x", started_at=None, ended_at=None)
    with pytest.raises(ValueError):
        call_log.add_turn(uuid, speaker="agent", text="x", started_at=None, ended_at=None, heard_ms=-5)
    assert call_log.turns(uuid) == []


def test_concurrent_appends_get_distinct_sequence_numbers(call_log: CallLog) -> None:
    call = new_call()
    call_log.start_call(call)
    writers, per_writer = 6, 8
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        barrier.wait()
        try:
            for n in range(per_writer):
                call_log.add_event(call.uuid, f"E{index}", T0, {"n": n})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    events = call_log.events(call.uuid)
    assert [e.seq for e in events] == list(range(1, writers * per_writer + 1))
    for index in range(writers):  # each writer's own events stay in its order
        assert [e.detail for e in events if e.name == f"E{index}"] == [{"n": n} for n in range(per_writer)]


def test_recent_calls_newest_first_with_limit(call_log: CallLog) -> None:
    calls = [new_call(created_at=T0 + timedelta(minutes=n)) for n in range(5)]
    for call in reversed(calls):
        call_log.start_call(call)
    recent = call_log.recent_calls(limit=3)
    assert [row.uuid for row in recent] == [calls[4].uuid, calls[3].uuid, calls[2].uuid]
    assert len(call_log.recent_calls()) == 5
    with pytest.raises(ValueError):
        call_log.recent_calls(limit=0)


@pytest.mark.parametrize(
    "overrides",
    [
        {"uuid": "not-a-uuid"},
        {"uuid": "6F9619FF-8B86-D011-B42D-00C04FC964FF"},  # not canonical: FreeSWITCH uses lower case
        {"direction": "sideways"},
        {"direction": "unknown"},  # only placeholders are unknown
        {"call_type": "pstn"},
        {"created_at": datetime(2024, 1, 1)},  # naive
    ],
)
def test_new_call_rejects_bad_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        new_call(**overrides)  # type: ignore[arg-type]


def test_naive_times_are_refused(call_log: CallLog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call_log.add_event(new_uuid(), "DTMF", datetime(2024, 1, 1))


def test_database_errors_raise_call_log_error(store_url: str) -> None:
    upgrade(store_url)
    log = CallLog.open(store_url)
    try:
        engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE turns")
        engine.dispose()
        uuid = new_uuid()
        with pytest.raises(CallLogError, match=uuid):
            log.add_turn(uuid, speaker="agent", text="x", started_at=T0, ended_at=None)
        with pytest.raises(CallLogError):
            log.turns(uuid)
    finally:
        log.close()


def test_open_refuses_a_database_without_the_schema(store_url: str) -> None:
    with pytest.raises(SchemaNotReadyError, match="001_calls"):
        CallLog.open(store_url)
