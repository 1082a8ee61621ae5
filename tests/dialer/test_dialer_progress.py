"""Live campaign progress (app/dialer/progress.py): the numbers, the plain lines, the bar, the dialler's run."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import gevent.event
import pytest
from rich.console import Console

from app.config import load_settings
from app.dialer.campaigns import CampaignOptions, import_campaign
from app.dialer.cli_dial import EslConnection, dial_with_progress
from app.dialer.dialer_setup import RunSummary
from app.dialer.progress import ProgressView, Snapshot, run_with_progress, snapshot
from app.sim.switch import Endpoint
from app.store import upgrade
from app.store.campaigns import CampaignStore

from .stand_in import controller_socket, csv_text, running_switch

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Tally:
    def __init__(self, dialled: int = 0, voicemails: int = 0) -> None:
        self.dialled, self.voicemails = dialled, voicemails


def shot(**values: object) -> Snapshot:
    fields: dict[str, object] = {
        "total": 3, "dialled": 0, "answered": 0, "voicemail": 0, "failed": 0, "remaining": 3, "eta_s": None,
    }
    fields.update(values)
    return Snapshot(**fields)  # type: ignore[arg-type]


def test_a_snapshot_counts_contacts_by_outcome_and_extrapolates_this_runs_pace() -> None:
    counts = {
        "queued": 2, "dialing": 1, "retry_scheduled": 1,
        "done:answered": 3, "done:busy": 1, "done:no_answer": 1, "done:failed": 1,
        "rejected:invalid": 4, "rejected:duplicate": 1,  # lines skipped at import are not contacts
    }
    seen = snapshot(counts, Tally(dialled=9, voicemails=1), elapsed_s=30.0, finished_at_start=2)
    # 6 of 10 contacts finished, 4 of them in the last 30 s: 4 left take another 30 s.
    assert seen == Snapshot(total=10, dialled=9, answered=2, voicemail=1, failed=3, remaining=4, eta_s=30.0)
    assert seen.finished == 6
    assert seen.line() == "dialled 9  answered 2  voicemail 1  failed 3  remaining 4/10  ETA 30s"


def test_eta_is_unknown_until_a_contact_finishes_and_zero_at_the_end() -> None:
    starting = snapshot({"queued": 5, "done:answered": 2}, Tally(), elapsed_s=12.0, finished_at_start=2)
    assert starting.eta_s is None and starting.line().endswith("remaining 5/7  ETA ?")
    done = snapshot({"done:answered": 1}, Tally(dialled=1), elapsed_s=5.0, finished_at_start=0)
    assert done.line() == "dialled 1  answered 1  voicemail 0  failed 0  remaining 0/1  ETA 0s"
    assert shot(remaining=1, eta_s=90.4).line().endswith("ETA 1m30s")
    assert shot(remaining=1, eta_s=7260.0).line().endswith("ETA 2h01m")


def test_voicemail_never_exceeds_the_answered_contacts() -> None:
    """A machine the dialler has seen hang up whose contact is not stored done yet is not counted twice."""
    seen = snapshot({"dialing": 1, "done:answered": 1}, Tally(dialled=2, voicemails=2), elapsed_s=1.0, finished_at_start=0)
    assert (seen.answered, seen.voicemail) == (0, 1)


def test_plain_output_is_one_line_per_change_of_the_counts() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    with ProgressView(console, "campaign spring") as view:
        view.update(shot())
        view.update(shot())  # the same: nothing
        view.update(shot(dialled=1))
        view.update(shot(dialled=1, eta_s=40.0))  # only the ETA moved: nothing
        view.update(shot(dialled=2, answered=1, remaining=2, eta_s=20.0))
        view.update(shot(dialled=3, answered=1, voicemail=1, failed=1, remaining=0, eta_s=0.0))
    assert out.getvalue().splitlines() == [
        "campaign spring: dialled 0  answered 0  voicemail 0  failed 0  remaining 3/3  ETA ?",
        "campaign spring: dialled 1  answered 0  voicemail 0  failed 0  remaining 3/3  ETA ?",
        "campaign spring: dialled 2  answered 1  voicemail 0  failed 0  remaining 2/3  ETA 20s",
        "campaign spring: dialled 3  answered 1  voicemail 1  failed 1  remaining 0/3  ETA 0s",
    ]


def test_a_terminal_gets_a_bar_with_contacts_finished_out_of_all() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with ProgressView(console, "campaign spring") as view:
        view.update(shot(total=5, dialled=4, answered=1, voicemail=1, failed=1, remaining=2, eta_s=10.0))
    text = ANSI.sub("", out.getvalue())
    last = [line for line in text.replace("\r", "\n").splitlines() if line.strip()][-1]
    assert last.startswith("campaign spring ")
    assert " 3/5 dialled 4  answered 1  voicemail 1  failed 1  ETA 10s " in last, last
    assert "remaining" not in last  # the bar's 3/5 says it


class ScriptedStore:
    """``counts`` hands out one step of a campaign per call (the last step stays) and updates the tally.

    The dialer's run ends once the next-to-last step is out, so only the look after the run sees the last.
    """

    def __init__(self, dialer: ScriptedDialer, steps: list[tuple[dict[str, int], int, int]]) -> None:
        self.dialer, self.steps, self.calls = dialer, steps, 0
        self.interrupt_at: int | None = None

    def counts(self, campaign_id: str) -> dict[str, int]:
        assert campaign_id == self.dialer.campaign_id
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        counts, self.dialer.dialled, self.dialer.voicemails = self.steps[min(self.calls, len(self.steps)) - 1]
        if self.calls >= len(self.steps) - 1:
            self.dialer.finished.set()
        return counts


class ScriptedDialer:
    """Runs until the store says the campaign is over (or until stopped)."""

    campaign_id = "spring"

    def __init__(self) -> None:
        self.dialled = self.voicemails = 0
        self.finished = gevent.event.Event()
        self.stopped = False

    def run(self, *, exit_when_paused: bool = True) -> RunSummary:
        self.finished.wait()
        return RunSummary(dialled=self.dialled, stopped_because="stopped" if self.stopped else "completed")

    def stop(self) -> None:
        self.stopped = True
        self.finished.set()


STEPS = [
    ({"queued": 3}, 0, 0),  # before the run starts
    ({"queued": 3}, 0, 0),
    ({"queued": 2, "dialing": 1}, 1, 0),
    ({"dialing": 1, "done:answered": 1, "done:busy": 1}, 3, 1),
    ({"done:answered": 2, "done:busy": 1}, 3, 1),
]


def test_the_run_shows_every_change_then_returns_the_dialers_summary() -> None:
    dialer = ScriptedDialer()
    store = ScriptedStore(dialer, STEPS)
    out = io.StringIO()
    with ProgressView(Console(file=out, force_terminal=False, width=100), "campaign spring") as view:
        summary = run_with_progress(store, dialer, view, poll_s=0.001)
    assert (summary.stopped_because, summary.dialled) == ("completed", 3)
    lines = out.getvalue().splitlines()
    assert lines[:2] == [
        "campaign spring: dialled 0  answered 0  voicemail 0  failed 0  remaining 3/3  ETA ?",
        "campaign spring: dialled 1  answered 0  voicemail 0  failed 0  remaining 3/3  ETA ?",
    ]
    assert re.fullmatch(
        r"campaign spring: dialled 3  answered 0  voicemail 1  failed 1  remaining 1/3  ETA \d+s", lines[2]
    )
    assert lines[3:] == ["campaign spring: dialled 3  answered 1  voicemail 1  failed 1  remaining 0/3  ETA 0s"]


def test_ctrl_c_stops_the_dialer_and_is_raised_again() -> None:
    dialer = ScriptedDialer()
    store = ScriptedStore(dialer, STEPS)
    store.interrupt_at = 3
    with ProgressView(Console(file=io.StringIO(), force_terminal=False), "campaign spring") as view, \
            pytest.raises(KeyboardInterrupt):
        run_with_progress(store, dialer, view, poll_s=0.001)
    assert dialer.stopped


def test_campaign_dialling_prints_progress_lines_and_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real dialler against the stand-in, through what `campaign run` calls: a pipe gets plain lines."""
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(url)
    store = CampaignStore.open(url)
    rows = [{"phone": "2125550101"}, {"phone": "2125550102"}, {"phone": "2125550103"}]
    options = CampaignOptions(name="progress", max_concurrent=2, cps=50.0, retries=0, campaign_id="progress-1")
    campaign_id, _ = import_campaign(store, csv_text(rows, ["phone"]), options, now=datetime.now(UTC))
    try:
        with running_switch() as switch, controller_socket(switch) as controller_port:
            switch.add_endpoint(r"\+12125550102$", Endpoint(result="USER_BUSY"))
            switch.add_endpoint(r"\+12125550103$", Endpoint(result="CALL_REJECTED"))
            switch.add_endpoint(r".", Endpoint(result="answer", hangup_after=0.3))
            settings = load_settings(
                {
                    "CALLBRIDGE_DATABASE_URL": url,
                    "CALLBRIDGE_ESL_PORT": str(switch.esl_port),
                    "CALLBRIDGE_ESL_PASSWORD": switch.password,
                    "CALLBRIDGE_CONTROLLER_PORT": str(controller_port),
                    "CALLBRIDGE_MAX_CPS": "50",
                }
            )
            with EslConnection(settings) as connection:
                dial_with_progress(settings, store, campaign_id, connection, pause_on_stop=True)
        assert store.campaign(campaign_id).status == "completed"
    finally:
        store.close()
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("campaign progress-1: dialled")]
    assert progress, lines
    assert progress[-1] == "campaign progress-1: dialled 3  answered 1  voicemail 0  failed 2  remaining 0/3  ETA 0s"
    assert lines[-1] == "campaign progress-1: completed after 3 dials"
