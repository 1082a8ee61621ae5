"""An originate reply lost with the event socket: the switch is asked again once it answers, not given up on.

Found by bench/chaos.py: the connection dropped 10 ms after an originate was sent (before it reached
FreeSWITCH); the dialer's one ``uuid_exists`` met the same drop, the attempt was closed ``unknown`` and
the contact was never dialled at all.
"""

from __future__ import annotations

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
        controller_host="127.0.0.1", controller_port=8084, stale_after=5.0, poll_interval=0.1
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
