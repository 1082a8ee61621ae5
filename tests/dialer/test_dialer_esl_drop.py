"""The event socket drops mid-campaign: originate replies are lost, the dialer reconnects and reconciles.

Real parts: the stand-in switch (its calls go on while the inbound connection is gone), the real
controller recording every answered call in PostgreSQL, and the dialer with its own reconnecting
InboundClient. Nobody may be dialled twice after answering, and no contact may be forgotten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import gevent

from app.dialer.campaigns import CampaignOptions, import_campaign
from app.dialer.dialer_setup import DialerConfig
from app.sim.shipped_dialplan import route_originated_calls
from app.sim.switch import Endpoint
from app.store import upgrade
from app.store.campaigns import CampaignStore
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW
from tests.polling import until
from tests.stack import stack_settings

from .stand_in import connected_dialer, csv_text, running_switch

CONTACTS = 10


def test_lost_originate_replies_are_reconciled_without_dialling_anyone_twice(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    store = CampaignStore.open(postgres_url)
    rows = [{"phone": f"212555{i:04d}"} for i in range(CONTACTS)]
    options = CampaignOptions(name="esl-drop", max_concurrent=4, cps=20.0, retries=2, retry_delay_s=0)
    campaign_id, _ = import_campaign(store, csv_text(rows, ["phone"]), options, now=datetime.now(UTC))
    settings = stack_settings(tmp_path, SHORT_FLOW, database_url=postgres_url, goodbye_text="Bye.")
    stack = Stack.build(settings)
    stack.start(advertise_bound_media=True)
    try:
        with running_switch() as switch:
            # Ring a little, answer, talk for a while: the drop catches calls ringing and up.
            switch.add_endpoint(r".", Endpoint(result="answer", answer_delay=0.8, hangup_after=2.0))
            route_originated_calls(switch.dialplan, "127.0.0.1", stack.controller_port)
            config = DialerConfig(
                max_cps=100,
                stale_after=5.0,
            )
            with connected_dialer(store, switch, campaign_id, config) as connected:
                run = gevent.spawn(connected.dialer.run)
                until(lambda: len(store.attempts(campaign_id)) >= 4, 60, "the first calls")
                assert switch.drop_inbound_connections() >= 1
                run.join(timeout=180)
                assert run.ready(), "the campaign did not finish after the drop"
                summary = run.get()
            answered_at_switch = [c for c in switch.calls.values() if c.answered.is_set()]
    finally:
        stack.stop()

    attempts = store.attempts(campaign_id)
    counts = store.counts(campaign_id)
    assert sum(counts.values()) == CONTACTS and set(counts) == {"done:answered"}, counts  # none forgotten
    assert summary.dialled == len(attempts)
    # The drop did lose replies (calls then ringing), and those were settled by asking, not guessing.
    reconciled = [a for a in attempts if a.job_result == "+OK reconciled"]
    assert reconciled, [a.job_result for a in attempts]
    # Each number was answered once at the switch: a lost reply was never taken for "try again".
    answered_numbers = sorted(c.channel.get_var("sip_to_user") or "" for c in answered_at_switch)
    assert len(answered_numbers) == len(set(answered_numbers)) == CONTACTS, answered_numbers
    store.close()
