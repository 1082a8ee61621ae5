"""What the event socket loses when it drops under a campaign: an originate's reply, a call's hangup.

Found by bench/chaos.py. The connection dropped 10 ms after an originate was sent (before it reached
FreeSWITCH); the dialer's one ``uuid_exists`` met the same drop, the attempt was closed ``unknown`` and
the contact was never dialled at all. And calls that hung up while the connection was down held their
slots until the next check ``CALLBRIDGE_DIALER_STALE_AFTER`` (30 s) later, so the campaign stood still
for up to 30 s after FreeSWITCH came back.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import gevent
import gevent.event

from app.dialer.campaigns import CampaignOptions, import_campaign
from app.dialer.dialer_setup import DialerConfig
from app.dialer.runner import Dialer
from app.esl.inbound import EslUnavailable
from app.store import upgrade
from app.store.campaigns import CampaignStore

from .stand_in import csv_text


class DroppingSwitch:
    """The first originate's reply is lost and the next API call meets the same drop; then all answers."""

    connections_made = 1

    def __init__(self) -> None:
        self.originates: list[str] = []
        self.asked = 0

    def wait_connected(self, timeout: float | None = None) -> bool:
        return True  # the client has not noticed the drop yet, as after a real one

    def bgapi(self, command: str) -> gevent.event.AsyncResult:
        self.originates.append(command)
        reply = gevent.event.AsyncResult()
        if len(self.originates) == 1:
            reply.set_exception(EslUnavailable("closed by peer"))
        else:
            reply.set("-ERR NO_ANSWER\n")
        return reply

    def api(self, command: str, timeout: float | None = None) -> str:
        assert command.startswith("uuid_exists ")
        self.asked += 1
        if self.asked == 1:
            raise EslUnavailable("closed by peer")
        return "false"  # the originate never reached the switch


def test_a_lost_originate_is_settled_by_asking_again_and_the_contact_is_dialled(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    store = CampaignStore.open(sqlite_url)
    options = CampaignOptions(name="drop", max_concurrent=1, cps=50.0, retries=1, retry_delay_s=0)
    campaign_id, _ = import_campaign(
        store, csv_text([{"phone": "2125550100"}], ["phone"]), options, now=datetime.now(UTC)
    )
    switch = DroppingSwitch()
    config = DialerConfig(
        stale_after=5.0, poll_interval=0.1
    )
    dialer = Dialer(store, switch, campaign_id, config)
    run = gevent.spawn(dialer.run)
    run.join(timeout=30)
    try:
        assert run.ready(), "the campaign did not finish"
        run.get()
        assert switch.asked == 2  # asked again after the failed ask, not closed as unknown
        assert len(switch.originates) == 2  # nobody had the first call: the retry is its first real dial
        states = [attempt.state for attempt in store.attempts(campaign_id)]
        assert "unknown" not in states, states
    finally:
        dialer.stop()
        store.close()


class HangupLostSwitch:
    """Answers every originate; the connection then drops and comes back, and the hangup is never seen."""

    def __init__(self) -> None:
        self.connections_made = 1

    def wait_connected(self, timeout: float | None = None) -> bool:
        return True

    def bgapi(self, command: str) -> gevent.event.AsyncResult:
        found = re.search(r"origination_uuid=([0-9a-f-]+)", command)
        assert found is not None
        reply = gevent.event.AsyncResult()
        reply.set(f"+OK {found.group(1)}\n")
        gevent.spawn_later(0.2, self._reconnect)
        return reply

    def _reconnect(self) -> None:
        self.connections_made += 1  # the call hung up meanwhile; its CHANNEL_HANGUP_COMPLETE was lost

    def api(self, command: str, timeout: float | None = None) -> str:
        assert command.startswith("uuid_exists ")
        return "false"


def test_calls_that_hung_up_while_the_socket_was_down_free_their_slots_once_it_is_back(
    sqlite_url: str,
) -> None:
    upgrade(sqlite_url)
    store = CampaignStore.open(sqlite_url)
    options = CampaignOptions(name="lost-hangups", max_concurrent=1, cps=50.0, retries=0, retry_delay_s=0)
    rows = [{"phone": f"212555010{i}"} for i in range(3)]
    campaign_id, _ = import_campaign(store, csv_text(rows, ["phone"]), options, now=datetime.now(UTC))
    config = DialerConfig(
        stale_after=30.0, poll_interval=0.1
    )
    dialer = Dialer(store, HangupLostSwitch(), campaign_id, config)
    started = time.monotonic()
    run = gevent.spawn(dialer.run)
    run.join(timeout=20)
    try:
        assert run.ready(), "calls whose hangup was lost held their slot until the 30 s check"
        run.get()
        assert time.monotonic() - started < 10  # three calls one after another, each settled within ~1 s
        assert store.counts(campaign_id) == {"done:answered": 3}
    finally:
        dialer.stop()
        store.close()
