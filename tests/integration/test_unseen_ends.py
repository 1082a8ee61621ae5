"""A controller killed mid-call leaves the call's record open; the next start closes it if the call is gone.

Found by bench/chaos.py: a caller who hung up while ``serve`` was down between a SIGKILL and its restart
(parked, not yet taken back), and every originated call cut by the kill, kept an "answered" record with
no end for ever. The recorder journals each call in progress on the node (app/store/live_calls.py); the
new process asks the switch which of those it still has and ends the others' records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.control.unseen_ends import EVENT, close_when_connected
from app.esl.inbound import InboundClient
from app.sim.switch import FakeSwitch
from app.store import CallLog, upgrade
from app.store.buffered import BufferedCallLog
from app.store.live_calls import LiveCalls, live_calls_path
from app.store.records import NewCall
from app.store.spool import CallLogSpool

GONE = "0b1e6a52-6c3e-4d8a-9b43-2f1d9c1e0a01"  # hung up while no controller was there
NORMAL = "0b1e6a52-6c3e-4d8a-9b43-2f1d9c1e0a02"  # ended while the first process ran


def recorder(database: str, tmp_path: Path) -> BufferedCallLog:
    spool = tmp_path / "spool.db"
    buffered = BufferedCallLog(
        CallLog.open(database), CallLogSpool(spool), live=LiveCalls(live_calls_path(spool))
    )
    buffered.start()
    return buffered


def answered(buffered: BufferedCallLog, uuid: str) -> None:
    now = datetime.now(UTC)
    buffered.start_call(
        NewCall(uuid=uuid, direction="inbound", call_type="sip", caller=None, callee=None, created_at=now)
    )
    buffered.mark_answered(uuid, now)


def test_a_call_that_ended_while_no_controller_had_it_gets_its_record_closed(
    switch: FakeSwitch, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(database)
    still_up = switch.place_call(destination="9998", context="default")  # answer, park: up throughout
    assert still_up.wait_answered(5)
    first = recorder(database, tmp_path)
    answered(first, GONE)
    answered(first, still_up.uuid)
    answered(first, NORMAL)
    first.end_call(NORMAL, at=datetime.now(UTC), hangup_cause="NORMAL_CLEARING", billsec=1, duration=1)
    # SIGKILL here: the process records nothing more (no end for the first two); only its files remain.
    first.stop()
    assert first.live is not None
    first.live.close()

    second = recorder(database, tmp_path)
    assert second.live is not None
    inherited = second.live.uuids()
    assert inherited == {GONE, still_up.uuid}
    client = InboundClient("127.0.0.1", switch.esl_port, switch.password)
    client.start()
    try:
        closed = close_when_connected(client, inherited, second, second.live, wait=10)
    finally:
        client.stop()
        second.stop()
        second.live.close()

    assert closed == [GONE]
    call_log = CallLog.open(database)
    try:
        gone = call_log.get_call(GONE)
        assert gone is not None and gone.state == "ended" and gone.ended_at is not None
        assert [e.name for e in call_log.events(GONE)] == [EVENT]
        up = call_log.get_call(still_up.uuid)
        assert up is not None and up.ended_at is None  # parked: the reclaimer's, not closed
        normal = call_log.get_call(NORMAL)
        assert normal is not None and normal.hangup_cause == "NORMAL_CLEARING"
    finally:
        call_log.close()
    assert LiveCalls(live_calls_path(tmp_path / "spool.db")).uuids() == {still_up.uuid}
