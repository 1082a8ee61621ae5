"""PostgreSQL goes away in the middle of a call and comes back: the call goes on, its record arrives once.

The call log is a scratch PostgreSQL cluster of the test's own (the shared server is never stopped),
stopped with ``pg_ctl -m immediate`` (every connection cut, as a crash or a network cut does) after the
call is answered and started again after the call has ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import psycopg2.extensions
import pytest
import sqlalchemy as sa
from psycogreen.gevent import gevent_wait_callback

from app.config import Settings
from app.metrics import MetricsServer
from app.sim.switch import FakeSwitch, SimCall
from app.store import CallLog, upgrade
from app.store.buffered import BufferedCallLog
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW
from tests.integration.test_call_flow import place
from tests.integration.test_serve import free_port, wait_exit, wait_ready
from tests.metrics.scrape import http_get, samples, value
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
    # The agent's inputs (agent_input, for re-attaching after a restart) are written by the brain's
    # wrapper through the same buffered recorder, not through the controller's: count them apart.
    controller_events = [event for event in events if event.name != "agent_input"]
    assert len(controller_events) == counting.counts["add_event"]  # every event the controller recorded, once
    inputs = [event.detail for event in events if event.name == "agent_input"]
    assert inputs == [{"input": "call_started"}, {"input": "no_input"}], inputs
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


def readyz_when(url: str, wanted: str, timeout: float = 60.0) -> tuple[int, str]:
    """Poll /readyz until its body contains ``wanted``; the last answer either way."""
    answer = (0, "")
    with gevent.Timeout(timeout, False):
        while wanted not in answer[1]:
            try:
                answer = http_get(url, timeout=5)
            except OSError:
                pass
            gevent.sleep(0.1)
    return answer


class Serve:
    """``python -m app serve`` in its own directory, on free ports, against the stand-in and ``database``."""

    def __init__(self, switch: FakeSwitch, caller_wav: Path, database: str, directory: Path) -> None:
        self.switch, self.caller_wav, self.directory = switch, caller_wav, directory
        self.controller, media, self.metrics_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
        env.update(
            {
                "CALLBRIDGE_ESL_PORT": str(switch.esl_port),
                "CALLBRIDGE_ESL_PASSWORD": switch.password,
                "CALLBRIDGE_DATABASE_URL": database,
                "CALLBRIDGE_CALL_LOG_RETRY_MAX_DELAY": "1.0",
                "CALLBRIDGE_CONTROLLER_PORT": str(self.controller),
                "CALLBRIDGE_MEDIA_PORT": str(media),
                "CALLBRIDGE_MEDIA_URL": f"ws://127.0.0.1:{media}",
                "CALLBRIDGE_METRICS_PORT": str(self.metrics_port),
                "CALLBRIDGE_WEB_ENABLED": "false",
                "CALLBRIDGE_FLOW": str(SHORT_FLOW),
                "CALLBRIDGE_SPOOL_DIR": str(directory / "spool"),
                "CALLBRIDGE_NO_INPUT_TIMEOUT": "2.5",
                "CALLBRIDGE_MAX_NO_INPUT": "1",
            }
        )
        self.log = (directory / "serve.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=directory,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def readyz(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/readyz"

    def output(self) -> str:
        return (self.directory / "serve.log").read_text()[-3000:]

    def place(self) -> SimCall:
        return self.switch.place_call(
            destination="+15557654321",
            caller_id_number="+15551230000",
            socket=f"127.0.0.1:{self.controller} async full",
            variables={"call_type": "sip"},
            caller_audio=self.caller_wav,
        )

    def stop(self) -> int | None:
        self.process.send_signal(signal.SIGTERM)
        return wait_exit(self.process, 30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.log.close()


def assert_complete_once(database: str, calls: list[SimCall]) -> None:
    """Each call's record is whole: ended, each event that happens once there once, both agent turns."""
    call_log = CallLog.open(database)
    try:
        for call in calls:
            record = call_log.get_call(call.uuid)
            assert record is not None and (record.direction, record.state) == ("inbound", "ended")
            assert record.hangup_cause == "NORMAL_CLEARING" and record.answered_at is not None
            events = call_log.events(call.uuid)
            names = [event.name for event in events]
            assert [e.seq for e in events] == list(range(1, len(names) + 1))
            for once in ("CHANNEL_ANSWER", "no_input", "CHANNEL_HANGUP_COMPLETE"):
                assert names.count(once) == 1, names
            assert [(t.speaker, t.text) for t in call_log.turns(call.uuid)] == [
                ("agent", "Hello. Say something."),
                ("agent", "Bye."),
            ]
    finally:
        call_log.close()


def test_serve_takes_calls_through_a_database_outage_and_replays_them(
    switch: FakeSwitch, caller_wav: Path, scratch: ScratchPostgres, tmp_path: Path
) -> None:
    serve = Serve(switch, caller_wav, scratch.url, tmp_path)
    try:
        assert wait_ready(serve.readyz, serve.process, timeout=90), serve.output()
        first = serve.place()
        assert first.wait_answered(15)
        scratch.stop()
        status, body = readyz_when(serve.readyz, "call_log degraded")
        assert status == 200 and "call_log degraded (database unreachable, spooling" in body, body
        second = serve.place()  # a new call while the database is away
        assert first.wait_ended(60) and second.wait_ended(60)
        scraped = samples(http_get(f"http://127.0.0.1:{serve.metrics_port}/metrics")[1])
        assert value(scraped, "callbridge_call_log_spool_depth") > 0
        assert (tmp_path / "callbridge-spool.db").exists()  # the default path, in serve's directory

        scratch.start()
        status, body = readyz_when(serve.readyz, "call_log ok")
        assert status == 200 and "call_log ok" in body, body
        assert serve.stop() == 0, serve.output()
    finally:
        serve.close()
    assert_complete_once(scratch.url, [first, second])


def test_serve_starts_while_the_database_is_down_and_migrates_it_when_it_answers(
    switch: FakeSwitch, caller_wav: Path, scratch: ScratchPostgres, tmp_path: Path
) -> None:
    admin = sa.create_engine(scratch.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE fresh")  # no schema yet: serve's upgrade must run later
    admin.dispose()
    database = sa.make_url(scratch.url).set(database="fresh").render_as_string(hide_password=False)
    scratch.stop()

    serve = Serve(switch, caller_wav, database, tmp_path)
    try:
        assert wait_ready(serve.readyz, serve.process, timeout=90), serve.output()
        status, body = http_get(serve.readyz)
        assert status == 200 and "call_log degraded (database unreachable, spooling: 0" in body, body
        call = serve.place()
        assert call.wait_ended(60)

        scratch.start()
        status, body = readyz_when(serve.readyz, "call_log ok")
        assert status == 200 and "call_log ok" in body, (body, serve.output())
        assert serve.stop() == 0, serve.output()
    finally:
        serve.close()
    assert (
        "migrations applied: 001_calls, 002_campaigns, 003_write_keys" in (tmp_path / "serve.log").read_text()
    )
    assert_complete_once(database, [call])
