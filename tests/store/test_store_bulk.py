"""Bulk inserts on PostgreSQL, with and without the gevent wait callback that `callbridge` installs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2.extensions
import pytest
from psycogreen.gevent import gevent_wait_callback

from app.store import upgrade
from app.store.campaign_records import NewCampaign, NewContact, NewReject
from app.store.campaigns import CampaignStore

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ROWS = 12_001  # more than two of the store's 5,000-row batches


def campaign(campaign_id: str) -> NewCampaign:
    return NewCampaign(
        id=campaign_id, name="bulk", flow=None, max_concurrent=1, cps=1.0, window_start=None, window_end=None,
        max_attempts=1, retry_delay_s=60, amd_action="continue", gateways="twilio", caller_id=None,
        source="contacts.csv",
    )


def contacts() -> Iterator[NewContact]:
    for line in range(2, ROWS + 2):
        yield NewContact(line, f"+1212{line:07d}", "America/New_York", {"name": f'Ann "{line}", the second'})


@pytest.fixture(params=["plain", "green"])
def wait_callback(request: pytest.FixtureRequest) -> Iterator[str]:
    """psycopg2 as in the tests (no callback), then as `python -m app` runs it (psycogreen's callback)."""
    if request.param == "green":
        psycopg2.extensions.set_wait_callback(gevent_wait_callback)
    try:
        yield str(request.param)
    finally:
        psycopg2.extensions.set_wait_callback(None)


def test_a_big_import_is_stored_whole_with_or_without_gevent(wait_callback: str, postgres_url: str) -> None:
    upgrade(postgres_url)
    store = CampaignStore.open(postgres_url)
    try:
        store.create_campaign(campaign(wait_callback), contacts(), [NewReject(1, "555-0100", "invalid")], NOW)
        assert store.counts(wait_callback) == {"queued": ROWS, "rejected:invalid": 1}
        rows = store.result_rows(wait_callback)
    finally:
        store.close()
    assert len(rows) == ROWS + 1
    assert rows[0]["number"] == "+12120000002" and '"Ann \\"2\\", the second"' in rows[0]["variables"]
    assert rows[ROWS - 1]["line"] == ROWS + 1
