"""A real PostgreSQL going away and coming back under BufferedCallLog (a scratch cluster, not the shared one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2.extensions
import pytest
from psycogreen.gevent import gevent_wait_callback

from app import metrics
from app.store import CallLog, upgrade
from app.store.buffered import BufferedCallLog, apply_write
from app.store.outage import DatabaseUnavailable
from app.store.spool import CallLogSpool, CallLogWrite
from tests.scratch_postgres import ScratchPostgres
from tests.store.test_store_spool import UUID, assert_recorded_once, call_writes, wait_for


@pytest.fixture
def green_psycopg() -> Iterator[None]:
    """psycopg2 cooperative, as ``python -m app`` makes it (psycogreen), so gevent can bound its waits."""
    psycopg2.extensions.set_wait_callback(gevent_wait_callback)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(None)


@pytest.fixture
def scratch() -> Iterator[ScratchPostgres]:
    cluster = ScratchPostgres()
    try:
        cluster.start()
        upgrade(cluster.url)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def buffered(scratch: ScratchPostgres, green_psycopg: None, tmp_path: Path) -> Iterator[BufferedCallLog]:
    call_log = CallLog.open(scratch.url)
    recorder = BufferedCallLog(
        call_log,
        CallLogSpool(tmp_path / "call-log-spool.db"),
        write_timeout=0.5,
        retry_min_delay=0.05,
        retry_max_delay=0.3,
    )
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.stop()
        call_log.close()


def record(recorder: BufferedCallLog, writes: slice) -> None:
    """Make the writes through the recorder, as the controller does (it gives each append its own key)."""
    for write in call_writes()[writes]:
        fields = {name: value for name, value in write.fields.items() if name != "key"}
        apply_write(recorder, CallLogWrite(write.kind, write.call_uuid, fields))  # type: ignore[arg-type]


def test_writes_made_while_the_database_is_down_are_replayed_in_order_once(
    scratch: ScratchPostgres, buffered: BufferedCallLog
) -> None:
    record(buffered, slice(0, 4))  # start, answer, an event, a turn: straight to the database
    assert not buffered.spooling and not buffered.spool.path.exists()

    scratch.stop()
    record(buffered, slice(4, None))  # the rest of the call, while the database is away
    assert buffered.spooling and buffered.depth == len(call_writes()) - 4
    readiness = buffered.readiness()
    assert (
        isinstance(readiness, metrics.Degraded) and f"{buffered.depth} write(s) waiting" in readiness.detail
    )
    assert metrics.REGISTRY.get_sample_value("callbridge_call_log_spool_depth") == buffered.depth

    scratch.start()
    assert wait_for(lambda: not buffered.spooling)
    assert buffered.depth == 0 and buffered.readiness() is True
    assert metrics.REGISTRY.get_sample_value("callbridge_call_log_spool_depth") == 0
    assert_recorded_once(buffered.call_log)


def test_a_hung_database_costs_a_write_one_timeout_then_the_spool_takes_over(
    scratch: ScratchPostgres, buffered: BufferedCallLog
) -> None:
    record(buffered, slice(0, 2))
    scratch.pause()  # connections stay open, nothing answers: without a bound the call would wait forever
    try:
        # Returns: one 0.5 s timeout, then the spool (without the bound it never would).
        record(buffered, slice(2, None))
        assert buffered.spooling and buffered.depth == len(call_writes()) - 2
        with pytest.raises(DatabaseUnavailable):  # a re-attached call's history is read within the bound too
            buffered.turns(UUID)
    finally:
        scratch.resume()
    assert wait_for(lambda: not buffered.spooling, timeout=60)
    assert_recorded_once(buffered.call_log)


def test_the_replay_waits_out_a_second_outage_and_still_writes_everything_once(
    scratch: ScratchPostgres, buffered: BufferedCallLog
) -> None:
    scratch.stop()
    record(buffered, slice(None))
    scratch.start()
    scratch.stop()  # back, and away again before (or while) the replay runs
    record(buffered, slice(None))  # the same writes again: start/answer/end repeat, keys differ -> new rows
    scratch.start()
    assert wait_for(lambda: not buffered.spooling, timeout=60)
    events = buffered.call_log.events(UUID)
    assert [e.name for e in events] == [f"event_{n}" for n in range(5)] * 2  # each write of each run, once
    assert [e.seq for e in events] == list(range(1, 11))
