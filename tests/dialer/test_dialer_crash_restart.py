"""Kill a dialer process mid-campaign, start another: no number is dialled twice, the campaign completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import gevent

from app.dialer.campaigns import CampaignOptions, import_campaign
from app.dialer.dialer_setup import DialerConfig
from app.sim.switch import Endpoint
from app.store import upgrade
from app.store.campaigns import CampaignStore

from .stand_in import connected_dialer, controller_socket, csv_text, run_in_greenlet, running_switch
from .switch_monitor import SwitchMonitor

CONTACTS = 60
REPO = Path(__file__).resolve().parents[2]


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Let the stand-in run (gevent) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.05)  # yields to the stand-in's greenlets between checks


def test_killed_dialer_is_replaced_without_dialling_anyone_twice(postgres_url: str, tmp_path: Path) -> None:
    upgrade(postgres_url)
    store = CampaignStore.open(postgres_url)
    rows = [{"phone": f"212555{i:04d}"} for i in range(CONTACTS)]
    options = CampaignOptions(name="crash", max_concurrent=5, cps=20.0, retries=2, retry_delay_s=0)
    campaign_id, _ = import_campaign(store, csv_text(rows, ["phone"]), options, now=datetime.now(UTC))

    monitor = SwitchMonitor()
    with running_switch() as switch, controller_socket(switch) as controller_port:
        switch.add_endpoint(r".", Endpoint(result="answer", answer_delay=0.1, hangup_after=1.0))
        watcher = monitor.connect(switch.esl_port, switch.password)
        env = {
            **os.environ,
            "CALLBRIDGE_DATABASE_URL": postgres_url,
            "CALLBRIDGE_ESL_PORT": str(switch.esl_port),
            "CALLBRIDGE_ESL_PASSWORD": switch.password,
            "CALLBRIDGE_CONTROLLER_PORT": str(controller_port),
            "CALLBRIDGE_DIALER_STALE_AFTER": "1",
            "CALLBRIDGE_MAX_CPS": "100",
        }
        log_path = tmp_path / "dialer.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.dialer", "campaign", "dial", campaign_id],
                cwd=REPO,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for(lambda: len(store.attempts(campaign_id)) >= 15, 60, "the first dialer to get going")
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
        killed_with = len(store.attempts(campaign_id))
        assert killed_with < CONTACTS, log_path.read_text()

        config = DialerConfig(
            max_cps=100, stale_after=1.0
        )
        with connected_dialer(store, switch, campaign_id, config) as connected:
            summary = run_in_greenlet(connected.dialer, timeout=60)
        watcher.stop()

    attempts = store.attempts(campaign_id)
    counts = store.counts(campaign_id)
    assert set(counts) <= {"done:answered", "done:unknown"}, counts
    assert sum(counts.values()) == CONTACTS
    assert summary.reconciled >= 1  # the dead dialer's calls were taken over, not redialled
    # One attempt per contact, and one channel per number at the switch: nobody was dialled twice.
    assert sorted(a.line for a in attempts) == list(range(2, CONTACTS + 2))
    dialled = [callee for _, _, callee in monitor.first_legs({a.uuid for a in attempts})]
    assert sorted(dialled) == sorted(f"+1212555{i:04d}" for i in range(CONTACTS))
    assert len([c for c in switch.calls.values()]) == CONTACTS
    store.close()
