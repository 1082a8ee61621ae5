"""The chaos bench's load (inbound callers, the campaign), its wind-down, and the figures it reads back."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import gevent

from app.dialer.campaigns import CampaignOptions, import_campaign
from app.sim.switch import FakeSwitch, SimCall
from app.store import CallLog
from app.store.campaigns import CampaignStore
from bench.chaos_faults import Injector
from bench.chaos_report import calls_table, fault_table, records_table, verdicts
from bench.chaos_rig import DID, Serve, SupervisedDialer
from bench.chaos_tally import (
    LoggedCall,
    SeenCall,
    tally_calls,
    tally_contacts,
    tally_faults,
    tally_records,
)
from bench.chaos_watch import SwitchWatch

ANSWER_WAIT_S = 90.0  # a caller waits this long for the agent (parked calls are claimed within 30 s)


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    numbers: tuple[str, ...]  # E.164, as the dialer puts them in callbridge_callee

    @classmethod
    def create(cls, database_url: str, contacts: int) -> Campaign:
        numbers = tuple(f"+1212555{i:04d}" for i in range(contacts))
        lines = ["phone", *(number.removeprefix("+1") for number in numbers)]
        # Retries stay on (the default 2): a lost originate nobody answered is dialled again, by design.
        options = CampaignOptions(name="chaos", max_concurrent=6, cps=2.0, retries=2, retry_delay_s=2)
        store = CampaignStore.open(database_url)
        try:
            campaign_id, result = import_campaign(store, lines, options, now=datetime.now(UTC))
        finally:
            store.close()
        assert len(result.contacts) == contacts, result.rejected
        return cls(campaign_id, numbers)


def place_callers(
    switch: FakeSwitch,
    watch: SwitchWatch,
    calls: int,
    over_s: float,
    stay_s: tuple[float, float],
    rng: random.Random,
) -> None:
    """``calls`` inbound calls spread over ``over_s`` seconds; each caller stays silent and hangs up
    after its own time once answered."""
    callers = []
    for number in range(calls):
        call = switch.place_call(
            destination=DID,
            context="public",
            caller_id_number=f"+1555{number:07d}",
            variables={"call_type": "sip"},
        )
        callers.append(gevent.spawn(_caller, call, watch, rng.uniform(*stay_s)))
        gevent.sleep(rng.uniform(0.5, 1.5) * over_s / calls)
    gevent.joinall(callers)


def _caller(call: SimCall, watch: SwitchWatch, stay_s: float) -> None:
    if not call.wait_answered(ANSWER_WAIT_S):
        if not call.hung_up.is_set():
            call.hangup()
        return
    watch.planned[call.uuid] = stay_s
    if not call.hung_up.wait(stay_s):
        call.hangup()


def settle(watch: SwitchWatch, dialer: SupervisedDialer, serve: Serve, timeout: float) -> bool:
    """Wait for the campaign to finish, every call to end and the call log's spool to drain."""
    deadline = time.monotonic() + timeout
    dialer.done.wait(timeout)
    while watch.live() and time.monotonic() < deadline:
        gevent.sleep(0.5)
    while time.monotonic() < deadline:
        if "call_log ok" in serve.readyz():
            return True
        gevent.sleep(0.5)
    return False


@dataclass
class Figures:
    seen: list[SeenCall]
    logged: dict[str, LoggedCall]
    injector: Injector
    run_end: float
    contact_numbers: tuple[str, ...]
    counts: dict[str, int]
    extra: dict[str, object] = field(default_factory=dict)

    def print(
        self,
        *,
        seed: int,
        elapsed_s: float,
        dialer_exits: list[int],
        drained: bool,
        serve_ready_s: list[float | None],
    ) -> None:
        rows = tally_faults(self.injector.done, {c.uuid: c for c in self.seen}, self.run_end)
        records = tally_records(self.seen, self.logged)
        contacts = tally_contacts(list(self.contact_numbers), self.seen)
        inbound, outbound = tally_calls(self.seen, "inbound"), tally_calls(self.seen, "outbound")
        lines = [
            "",
            f"seed {seed}; {elapsed_s:.0f} s; load average (1 min) at the end {os.getloadavg()[0]:.2f} on"
            f" {os.cpu_count()} cores; spool drained at the end: {drained}",
            "",
            *fault_table(rows),
            "",
            *calls_table(inbound, outbound),
            "",
            *records_table(records, contacts, self.counts),
            "",
            f"serve start-up to /readyz 200 (s): {', '.join(_seconds(s) for s in serve_ready_s)}",
            f"dialer process exits (0 = campaign done; else restarted after 1 s): {dict(Counter(dialer_exits))}",
            "",
            *verdicts(rows, records, contacts),
        ]
        for name, uuids in (
            ("lost", records.lost),
            ("end never written", records.unended),
            ("duplicated", records.duplicated),
        ):
            if uuids:
                lines.append(f"records {name}: {', '.join(uuids[:5])}{' ...' if len(uuids) > 5 else ''}")
        if contacts.dialled_twice:
            lines.append(f"dialled twice: {', '.join(contacts.dialled_twice[:10])}")
        print("\n".join(lines), flush=True)
        self.extra = {
            "rows": rows,
            "records": records,
            "contacts": contacts,
            "inbound": inbound,
            "outbound": outbound,
        }

    def to_json(self) -> str:
        out: dict[str, object] = {}
        for name, value in self.extra.items():
            if isinstance(value, dict):
                out[name] = {key: asdict(row) for key, row in value.items()}
            else:
                out[name] = asdict(value)  # type: ignore[call-overload]
        return json.dumps(out, indent=2, default=str)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def collect(
    watch: SwitchWatch, injector: Injector, database_url: str, campaign: Campaign, run_end: float
) -> Figures:
    seen = watch.calls()
    call_log = CallLog.open(database_url)
    store = CampaignStore.open(database_url)
    try:
        logged = {row.uuid: _logged(call_log, row.uuid) for row in call_log.recent_calls(limit=100_000)}
        counts = store.counts(campaign.campaign_id)
    finally:
        call_log.close()
        store.close()
    return Figures(seen, logged, injector, run_end, campaign.numbers, counts)


def _logged(call_log: CallLog, uuid: str) -> LoggedCall:
    row = call_log.get_call(uuid)
    events = call_log.events(uuid)
    turns = call_log.turns(uuid)
    return LoggedCall(
        uuid=uuid,
        ended=row is not None and row.state in ("ended", "failed") and row.ended_at is not None,
        hangup_cause=None if row is None else row.hangup_cause,
        event_counts=dict(Counter(event.name for event in events)),
        event_seqs=tuple(event.seq for event in events),
        turn_seqs=tuple(turn.seq for turn in turns),
        agent_turns=tuple(turn.text for turn in turns if turn.speaker == "agent"),
    )
