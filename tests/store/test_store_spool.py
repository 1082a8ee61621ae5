"""The call-log spool (a local SQLite file) and idempotent replays into the call log, on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gevent
import pytest

from app.store import CallLog
from app.store.buffered import BufferedCallLog, apply_write
from app.store.spool import CallLogSpool, CallLogWrite, SpooledWrite

UUID = "6f1b7a52-3c1e-4d8a-9a59-0d3c2b7e9f10"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` (yielding to other greenlets) until it holds or ``timeout`` passes."""
    with gevent.Timeout(timeout, False):
        while not condition():
            gevent.sleep(0.02)
        return True
    return False


def call_writes(uuid: str = UUID, events: int = 5) -> list[CallLogWrite]:
    """A whole call as the controller records it: start, answer, events and turns, end."""
    writes = [
        CallLogWrite(
            "start_call",
            uuid,
            {
                "direction": "inbound",
                "call_type": "sip",
                "caller": "+15551230000",
                "callee": "+15557654321",
                "gateway": None,
                "campaign_ref": None,
                "created_at": T0,
            },
        ),
        CallLogWrite("mark_answered", uuid, {"at": T0 + timedelta(seconds=1)}),
    ]
    for n in range(events):
        at = T0 + timedelta(seconds=2 + n)
        writes.append(
            CallLogWrite(
                "add_event", uuid, {"name": f"event_{n}", "at": at, "detail": {"n": n}, "key": f"{uuid}-e{n}"}
            )
        )
        writes.append(
            CallLogWrite(
                "add_turn",
                uuid,
                {
                    "speaker": "agent" if n % 2 else "caller",
                    "text": f"turn {n}",
                    "started_at": at,
                    "ended_at": at,
                    "interrupted": False,
                    "heard_ms": 100 * n,
                    "timings": {"n": n},
                    "key": f"{uuid}-t{n}",
                },
            )
        )
    writes.append(
        CallLogWrite(
            "end_call",
            uuid,
            {
                "at": T0 + timedelta(seconds=30),
                "hangup_cause": "NORMAL_CLEARING",
                "billsec": 29,
                "duration": 30,
                "state": "ended",
            },
        )
    )
    return writes


def assert_recorded_once(call_log: CallLog, uuid: str = UUID, events: int = 5) -> None:
    record = call_log.get_call(uuid)
    assert record is not None
    assert (record.direction, record.state, record.hangup_cause, record.billsec) == (
        "inbound",
        "ended",
        "NORMAL_CLEARING",
        29,
    )
    assert record.answered_at == T0 + timedelta(seconds=1)
    assert [(e.seq, e.name, e.detail) for e in call_log.events(uuid)] == [
        (n + 1, f"event_{n}", {"n": n}) for n in range(events)
    ]
    assert [(t.seq, t.text, t.heard_ms) for t in call_log.turns(uuid)] == [
        (n + 1, f"turn {n}", 100 * n) for n in range(events)
    ]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[CallLogSpool]:
    opened = CallLogSpool(tmp_path / "spool" / "call-log-spool.db")
    yield opened
    opened.close()


def test_the_spool_file_exists_only_once_something_is_spooled(spool: CallLogSpool) -> None:
    spool.check_writable()
    assert spool.path.parent.is_dir() and not spool.path.exists()
    assert (spool.depth(), spool.head()) == (0, [])
    spool.append(call_writes()[0])
    assert spool.path.exists() and spool.depth() == 1


def test_writes_come_back_in_order_with_their_values_after_a_reopen(spool: CallLogSpool) -> None:
    writes = call_writes()
    ids = [spool.append(write) for write in writes]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    spool.close()  # as a crash would leave it: nothing in memory, only the file

    reopened = CallLogSpool(spool.path)
    try:
        entries = reopened.head(limit=1000)
        assert [entry.id for entry in entries] == ids
        assert [entry.write for entry in entries] == writes  # datetimes come back aware and equal
        reopened.remove_through(ids[2])
        assert [entry.id for entry in reopened.head()] == ids[3:]
        assert reopened.depth() == len(writes) - 3
        assert [entry.id for entry in reopened.head(limit=2)] == ids[3:5]
    finally:
        reopened.close()


def test_ids_are_never_reused_after_the_spool_empties(spool: CallLogSpool) -> None:
    first = spool.append(call_writes()[0])
    spool.remove_through(first)
    assert spool.depth() == 0
    assert spool.append(call_writes()[1]) > first


def test_the_file_is_durable_sqlite_in_wal_mode(spool: CallLogSpool) -> None:
    spool.append(call_writes()[0])
    with sqlite3.connect(spool.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM writes").fetchone()[0] == 1


def test_a_rejected_write_is_kept_aside_with_the_reason(spool: CallLogSpool) -> None:
    spool.append(call_writes()[0])
    entry = spool.head()[0]
    spool.reject(entry, "IntegrityError: no")
    assert (spool.depth(), spool.rejected()) == (0, 1)
    with sqlite3.connect(spool.path) as other:
        assert other.execute("SELECT id, kind, error FROM rejected").fetchall() == [
            (entry.id, "start_call", "IntegrityError: no")
        ]


def test_an_unreadable_write_is_set_aside_and_the_rest_still_replays(spool: CallLogSpool) -> None:
    good = call_writes()[:2]
    spool.append(good[0])
    with sqlite3.connect(spool.path) as other:
        other.execute(
            "INSERT INTO writes (call_uuid, kind, fields, spooled_at) VALUES (?, 'drop_table', '{}', ?)",
            (UUID, T0.isoformat()),
        )
    spool.append(good[1])
    assert [entry.write for entry in spool.head()] == good
    assert spool.rejected() == 1


def test_a_keyed_append_is_written_once(call_log: CallLog) -> None:
    call_log.add_event(UUID, "CHANNEL_ANSWER", T0, {"a": 1}, key="k-event")
    call_log.add_event(UUID, "CHANNEL_ANSWER", T0, {"a": 1}, key="k-event")
    call_log.add_event(UUID, "CHANNEL_ANSWER", T0)  # no key: appended as before
    first = call_log.add_turn(UUID, speaker="agent", text="Hello.", started_at=T0, ended_at=T0, key="k-turn")
    again = call_log.add_turn(UUID, speaker="agent", text="Hello.", started_at=T0, ended_at=T0, key="k-turn")
    assert first == again == 1
    assert [e.seq for e in call_log.events(UUID)] == [1, 2]
    assert [t.text for t in call_log.turns(UUID)] == ["Hello."]


def test_every_write_applied_twice_leaves_one_record(call_log: CallLog) -> None:
    for write in call_writes():
        apply_write(call_log, write)
        apply_write(call_log, write)
    assert_recorded_once(call_log)


def test_a_spool_is_replayed_in_order_at_start(call_log: CallLog, spool: CallLogSpool) -> None:
    for write in call_writes():
        spool.append(write)
    buffered = BufferedCallLog(call_log, spool, retry_min_delay=0.05, retry_max_delay=0.2)
    buffered.start()
    try:
        assert buffered.spooling  # a spool left from before: new writes queue behind it
        assert wait_for(lambda: not buffered.spooling)
        assert (buffered.depth, spool.depth()) == (0, 0)
        assert buffered.readiness() is True
        assert_recorded_once(call_log)
    finally:
        buffered.stop()


class _CrashAfterCommit(BaseException):
    """Stands for the process dying between the database commit and the spool's removal."""


class CrashingSpool(CallLogSpool):
    """A spool whose first removal never happens: the replayed writes are in the database, not removed."""

    def remove_through(self, last_id: int) -> None:
        raise _CrashAfterCommit(last_id)


def test_a_crash_mid_replay_then_a_new_replay_writes_nothing_twice(call_log: CallLog, tmp_path: Path) -> None:
    path = tmp_path / "call-log-spool.db"
    crashing = CrashingSpool(path)
    for write in call_writes(events=60):  # more than one replay batch
        crashing.append(write)
    total = crashing.depth()
    first = BufferedCallLog(call_log, crashing, retry_min_delay=0.05, retry_max_delay=0.2)
    first.start()
    replayer = first._replayer
    assert replayer is not None
    assert wait_for(lambda: replayer.dead)
    assert isinstance(replayer.exception, _CrashAfterCommit)
    assert len(call_log.events(UUID)) > 0  # the first batch reached the database...
    crashing.close()

    spool = CallLogSpool(path)
    assert spool.depth() == total  # ...and none of it left the spool
    second = BufferedCallLog(call_log, spool, retry_min_delay=0.05, retry_max_delay=0.2)
    second.start()
    try:
        assert wait_for(lambda: not second.spooling)
        assert_recorded_once(call_log, events=60)
    finally:
        second.stop()


def test_spooled_entries_keep_their_kind_and_call(spool: CallLogSpool) -> None:
    write = call_writes()[-1]
    spool.append(write)
    entry = spool.head()[0]
    assert isinstance(entry, SpooledWrite)
    assert (entry.write.kind, entry.write.call_uuid, entry.spooled_at.tzinfo is not None) == (
        "end_call",
        UUID,
        True,
    )
    with pytest.raises(ValueError, match="unknown call-log write"):
        CallLogWrite("drop_table", UUID, {})


def test_a_write_the_call_log_refuses_is_set_aside_and_the_replay_goes_on(
    call_log: CallLog, spool: CallLogSpool
) -> None:
    writes = call_writes()
    bad = CallLogWrite("add_turn", UUID, {**writes[3].fields, "speaker": "robot", "key": "bad"})
    for write in [*writes[:3], bad, *writes[3:]]:
        spool.append(write)
    buffered = BufferedCallLog(call_log, spool, retry_min_delay=0.05, retry_max_delay=0.2)
    buffered.start()
    try:
        assert wait_for(lambda: not buffered.spooling)
        assert (spool.depth(), spool.rejected()) == (0, 1)
        assert_recorded_once(call_log)
    finally:
        buffered.stop()


def test_turns_read_back_include_the_spooled_ones_once(call_log: CallLog, spool: CallLogSpool) -> None:
    def turn(text: str, key: str) -> CallLogWrite:
        fields = {
            "speaker": "agent",
            "text": text,
            "started_at": T0,
            "ended_at": T0,
            "interrupted": False,
            "heard_ms": None,
            "timings": None,
            "key": key,
        }
        return CallLogWrite("add_turn", UUID, fields)

    apply_write(call_log, turn("one", "k1"))
    spool.append(turn("one", "k1"))  # replayed already, not removed yet (a crash between the two)
    spool.append(turn("two", "k2"))
    spool.append(CallLogWrite("add_event", UUID, {"name": "x", "at": T0, "detail": None, "key": "k3"}))
    buffered = BufferedCallLog(call_log, spool)
    try:
        turns = buffered.turns(UUID)
    finally:
        buffered.stop()
    assert [(t.seq, t.text, t.write_key, t.started_at) for t in turns] == [
        (1, "one", "k1", T0),
        (2, "two", "k2", T0),
    ]
