"""PostgreSQL goes away in the middle of a call and comes back: the call goes on, its record arrives once.

The call log is a scratch PostgreSQL cluster of the test's own (the shared server is never stopped),
stopped with ``pg_ctl -m immediate`` (every connection cut, as a crash or a network cut does) after the
call is answered and started again after the call has ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2.extensions
import pytest
from psycogreen.gevent import gevent_wait_callback

from app.config import Settings
from app.metrics import MetricsServer
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.store.buffered import BufferedCallLog
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW
from tests.integration.test_call_flow import place
from tests.metrics.scrape import http_get
from tests.scratch_postgres import ScratchPostgres
from tests.stack import stack_settings
from tests.store.test_store_spool import wait_for


@pytest.fixture
def scratch() -> Iterator[ScratchPostgres]:
    cluster = ScratchPostgres()
    psycopg2.extensions.set_wait_callback(gevent_wait_callback)  # as `python -m app` runs psycopg2
    try:
        cluster.start()
        upgrade(cluster.url)
        yield cluster
    finally:
        psycopg2.extensions.set_wait_callback(None)
        cluster.destroy()


@pytest.fixture
def settings(tmp_path: Path, scratch: ScratchPostgres) -> Settings:
    return stack_settings(
        tmp_path,
        SHORT_FLOW,
        goodbye_text="Bye.",
        no_input_timeout="2.5",
        max_no_input="1",
        database_url=scratch.url,
        call_log_write_timeout="1.0",
        call_log_retry_min_delay="0.1",
        call_log_retry_max_delay="1.0",
    )


class CountingRecorder:
    """Passes every write on to the stack's recorder and counts them by method."""

    def __init__(self, inner: BufferedCallLog) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return method(*args, **kwargs)

        return counted


def test_a_call_goes_on_through_a_database_outage_and_its_record_arrives_once(
    stack: Stack, switch: FakeSwitch, caller_wav: Path, scratch: ScratchPostgres
) -> None:
    recorder = stack.recorder
    assert recorder is not None and stack.controller is not None
    counting = CountingRecorder(recorder)
    stack.controller.recorder = counting  # type: ignore[assignment]
    metrics = MetricsServer("127.0.0.1", 0, {"call_log": recorder.readiness})
    metrics.start()
    try:
        call = place(switch, stack, caller_wav)
        assert call.wait_answered(15)
        assert wait_for(lambda: counting.counts["mark_answered"] == 1)  # written to the database directly
        scratch.stop()

        assert call.wait_ended(60)  # greeting, no input, goodbye, hang-up: the call ran its course
        assert stack.controller_finished(call.uuid, timeout=30)
        assert recorder.spooling and recorder.depth > 0  # at least the end of the call is spooled
        status, body = http_get(f"http://127.0.0.1:{metrics.port}/readyz")
        assert (
            status == 200 and f"call_log degraded (database unreachable, spooling: {recorder.depth}" in body
        )

        scratch.start()
        assert wait_for(lambda: not recorder.spooling, timeout=60)
        status, body = http_get(f"http://127.0.0.1:{metrics.port}/readyz")
        assert (status, body) == (200, "call_log ok\n")
    finally:
        metrics.stop()

    record = stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.direction, record.state, record.hangup_cause) == ("inbound", "ended", "NORMAL_CLEARING")
    assert record.answered_at is not None and record.ended_at is not None
    events = stack.call_log.events(call.uuid)
    names = [event.name for event in events]
    assert len(events) == counting.counts["add_event"]  # every event the controller recorded, once
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    for once in ("CHANNEL_ANSWER", "audio_stream_connected", "no_input", "CHANNEL_HANGUP_COMPLETE"):
        assert names.count(once) == 1, names
    turns = stack.call_log.turns(call.uuid)
    assert len(turns) == counting.counts["add_turn"]
    assert [(t.seq, t.speaker, t.text) for t in turns] == [
        (1, "agent", "Hello. Say something."),
        (2, "agent", "Bye."),
    ]
    assert counting.counts["end_call"] == 1
