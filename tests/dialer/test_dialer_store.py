"""Campaign state on PostgreSQL and SQLite: claims, limits, retries, cancel, results; schema drift."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.store import upgrade
from app.store.campaign_records import AttemptEnd, Claimed, ClaimWait, NewCampaign, NewContact, NewReject
from app.store.campaigns import CampaignStore, CampaignStoreError
from app.store.drift import schema_differences
from app.store.tables import metadata

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NO_WAIT = timedelta(0)


def spec(campaign_id: str = "c1", **overrides: object) -> NewCampaign:
    values: dict[str, object] = {
        "id": campaign_id,
        "name": "test",
        "flow": "reminder",
        "max_concurrent": 2,
        "cps": 1e9,  # no pacing unless a test asks for it
        "window_start": None,
        "window_end": None,
        "max_attempts": 2,
        "retry_delay_s": 60,
        "amd_action": "continue",
        "gateways": "twilio,vonage",
        "caller_id": None,
        "source": "contacts.csv",
    }
    values.update(overrides)
    return NewCampaign(**values)  # type: ignore[arg-type]


def contacts(count: int, zone: str | None = "America/New_York") -> list[NewContact]:
    return [NewContact(line + 2, f"+1212555{line:04d}", zone, {"n": str(line)}) for line in range(count)]


def always(_zones: str | None, now: datetime) -> datetime:
    return now


@pytest.fixture
def store(store_url: str) -> Iterator[CampaignStore]:
    upgrade(store_url)
    campaign_store = CampaignStore.open(store_url)
    yield campaign_store
    campaign_store.close()


def claim(
    store: CampaignStore, now: datetime = NOW, campaign_id: str = "c1", dialer: str = "d1"
) -> Claimed | ClaimWait:
    return store.claim_next(campaign_id, dialer, now, interval=NO_WAIT, schedule=always)


def end(state: str, contact_state: str, outcome: str | None, due: datetime | None = None) -> AttemptEnd:
    return AttemptEnd(
        state=state,
        at=NOW,
        hangup_cause="X",
        contact_state=contact_state,
        contact_outcome=outcome,
        contact_due_at=due,
    )


def test_migrated_schema_matches_campaign_tables(store_url: str) -> None:
    upgrade(store_url)
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    try:
        assert schema_differences(engine, metadata) == []
    finally:
        engine.dispose()


def test_claims_respect_max_concurrent_and_commit_the_attempt_first(store: CampaignStore) -> None:
    store.create_campaign(spec(), contacts(5), [NewReject(9, "12", "invalid")], NOW)
    first, second = claim(store), claim(store)
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    assert (first.line, second.line) == (2, 3) and first.variables == {"n": "0"}
    assert claim(store) == ClaimWait("full")
    attempts = store.attempts("c1")
    assert [(a.uuid, a.state, a.attempt) for a in attempts] == [
        (first.uuid, "dialing", 1),
        (second.uuid, "dialing", 1),
    ]
    assert store.finish_attempt(first.uuid, end("busy", "retry_scheduled", None, NOW + timedelta(minutes=1)))
    assert not store.finish_attempt(first.uuid, end("busy", "done", "busy"))  # already ended: no change
    third = claim(store)
    assert isinstance(third, Claimed) and third.line == 4
    assert store.counts("c1") == {"dialing": 2, "retry_scheduled": 1, "queued": 2, "rejected:invalid": 1}


def test_retry_comes_back_when_due_with_the_next_attempt_number(store: CampaignStore) -> None:
    store.create_campaign(spec(max_concurrent=5), contacts(1), [], NOW)
    first = claim(store)
    assert isinstance(first, Claimed)
    store.finish_attempt(first.uuid, end("no_answer", "retry_scheduled", None, NOW + timedelta(minutes=1)))
    wait = claim(store)
    assert wait == ClaimWait("not_due", NOW + timedelta(minutes=1))
    again = claim(store, NOW + timedelta(minutes=1))
    assert isinstance(again, Claimed) and (again.line, again.attempt) == (2, 2)
    assert store.mark_answered(again.uuid, channel_uuid=again.uuid, job_result="+OK", at=NOW)
    assert store.counts("c1") == {"answered": 1}
    store.finish_attempt(again.uuid, end("answered", "done", "answered"))
    assert claim(store, NOW + timedelta(minutes=2)) == ClaimWait("drained")
    assert store.complete_if_finished("c1", NOW)
    assert store.campaign("c1").status == "completed"


def test_pacing_spaces_originates(store: CampaignStore) -> None:
    store.create_campaign(spec(cps=2.0, max_concurrent=10), contacts(3), [], NOW)
    assert isinstance(claim(store), Claimed)
    assert claim(store) == ClaimWait("pacing", NOW + timedelta(seconds=0.5))
    assert isinstance(claim(store, NOW + timedelta(seconds=0.5)), Claimed)


def test_contacts_outside_their_window_are_pushed_to_its_opening(store: CampaignStore) -> None:
    store.create_campaign(spec(max_concurrent=10), contacts(2), [], NOW)
    opening = NOW + timedelta(hours=3)
    result = store.claim_next("c1", "d1", NOW, interval=NO_WAIT, schedule=lambda _z, _n: opening)
    assert result == ClaimWait("not_due", opening)


def test_pause_resume_and_cancel(store: CampaignStore) -> None:
    store.create_campaign(spec(max_concurrent=10), contacts(3), [], NOW)
    store.set_status("c1", "paused", NOW)
    assert claim(store) == ClaimWait("paused")
    store.set_status("c1", "running", NOW)
    assert isinstance(claim(store), Claimed)
    store.set_status("c1", "cancelled", NOW)
    assert claim(store) == ClaimWait("cancelled")
    assert store.counts("c1") == {"dialing": 1, "done:cancelled": 2}
    with pytest.raises(CampaignStoreError):
        store.set_status("c1", "running", NOW)
    with pytest.raises(CampaignStoreError):
        store.set_status("nope", "paused", NOW)


def test_orphaned_attempts_are_those_of_dead_dialers(store: CampaignStore) -> None:
    store.create_campaign(spec(max_concurrent=10), contacts(2), [], NOW)
    store.register_dialer("dead", "c1", "h", 1, NOW)
    store.register_dialer("alive", "c1", "h", 2, NOW)
    orphan = claim(store, dialer="dead")
    claim(store, dialer="alive")
    store.heartbeat("alive", NOW + timedelta(seconds=60))
    orphans = store.orphaned_attempts("c1", NOW + timedelta(seconds=30))
    assert isinstance(orphan, Claimed) and [a.uuid for a in orphans] == [orphan.uuid]


def test_result_rows_cover_every_line(store: CampaignStore) -> None:
    store.create_campaign(spec(), contacts(2), [NewReject(5, "abc", "invalid")], NOW)
    first = claim(store)
    assert isinstance(first, Claimed)
    store.mark_answered(first.uuid, channel_uuid=first.uuid, job_result="+OK x", at=NOW)
    store.finish_attempt(first.uuid, end("answered", "done", "answered"))
    rows = list(store.result_rows("c1"))
    assert [(r["line"], r["state"], r["outcome"]) for r in rows] == [
        (2, "done", "answered"),
        (3, "queued", None),
        (5, "rejected", "invalid"),
    ]
    assert rows[0]["uuid"] == first.uuid and rows[0]["job_result"] == "+OK x"


def test_two_dialers_never_claim_the_same_contact(postgres_url: str) -> None:
    upgrade(postgres_url)
    setup = CampaignStore.open(postgres_url)
    setup.create_campaign(spec(max_concurrent=1000), contacts(200), [], NOW)
    setup.close()
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def work(name: str) -> None:
        store = CampaignStore.open(postgres_url)
        try:
            while isinstance(result := claim(store, dialer=name), Claimed):
                claimed[name].append(result.line)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    lines = claimed["a"] + claimed["b"]
    assert sorted(lines) == list(range(2, 202))  # every contact once, none twice
