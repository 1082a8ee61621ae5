"""`callbridge demo --outbound`: the sample campaign dialled through the stand-in, as a new user runs it."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.store import CallLog
from app.store.campaigns import CampaignStore
from tests.store.conftest import postgres_database_url, postgres_url, sqlite_url, store_url

__all__ = ["postgres_database_url", "postgres_url", "sqlite_url", "store_url"]

PROGRESS = re.compile(
    r"^campaign (?P<id>\S+): dialled (?P<dialled>\d+)  answered (?P<answered>\d+)  voicemail (?P<voicemail>\d+)"
    r"  failed (?P<failed>\d+)  remaining (?P<remaining>\d+)/(?P<total>\d+)  ETA (?P<eta>\S+)$"
)


@pytest.fixture
def demo_run(store_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The demo in a fresh working directory, piped at 80 columns; SQLite is its default database there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    env["COLUMNS"] = "80"
    if store_url.startswith("postgresql"):
        env["CALLBRIDGE_DATABASE_URL"] = store_url
    else:
        assert store_url == f"sqlite:///{tmp_path / 'callbridge.db'}"  # what the default finds in tmp_path
    return subprocess.run(
        [sys.executable, "-m", "app", "demo", "--outbound"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280, check=False,
    )


@pytest.mark.timeout(300)  # loads the models, then dials a whole campaign (40-70 s on the 2-core machine)
def test_the_sample_campaign_is_dialled_through_the_stand_in(
    demo_run: subprocess.CompletedProcess[str], store_url: str, tmp_path: Path
) -> None:
    assert demo_run.returncode == 0, demo_run.stdout + demo_run.stderr[-3000:]
    out = demo_run.stdout
    print(out)  # shown when an assertion below fails
    imported = re.search(r"^campaign (\S+): 5 contacts, 1 skipped$", out, re.MULTILINE)
    assert imported is not None, out
    campaign_id = imported.group(1)
    assert "line 7: skipped (invalid) '555-0199'" in demo_run.stderr
    check_progress(out, campaign_id)
    answered = check_attempts(store_url, campaign_id)
    check_answered_calls(store_url, campaign_id, answered)
    for uuid in answered.values():
        assert (tmp_path / "recordings" / f"{uuid}.wav").exists()
        assert f"callbridge calls --events {uuid}" in out

    # The printed status and results: ids whole at 80 columns, one row per line of the file.
    lines = out.splitlines()
    assert any(line.startswith(campaign_id) and "completed" in line for line in lines), out
    row = re.compile(r"^\s*([2-7])\s+(\+1\d{10}|555-0199)\s")
    rows = {int(line.split()[0]): line.split()[1:] for line in lines if row.match(line)}
    assert rows[2][:4] == ["+12125550101", "Ann", "answered", "1"]
    assert rows[4][:5] == ["+12125550103", "Carmen", "busy", "2", "USER_BUSY"]
    assert rows[6][:5] == ["+12125550105", "Erin", "failed", "1", "UNALLOCATED_NUMBER"]
    assert rows[7] == ["555-0199", "skipped", "-", "invalid"]


def check_progress(out: str, campaign_id: str) -> None:
    """Live progress, one plain line per change: the counts never go back, the last line is the campaign."""
    shots = [match.groupdict() for match in map(PROGRESS.match, out.splitlines()) if match]
    assert len(shots) >= 2 and {shot["id"] for shot in shots} == {campaign_id}
    for before, after in itertools.pairwise(shots):
        for key in ("dialled", "failed"):
            assert int(after[key]) >= int(before[key]), (before, after)
        answers = int(after["answered"]) + int(after["voicemail"])  # contacts done:answered
        assert answers >= int(before["answered"]) + int(before["voicemail"]), (before, after)
        assert int(after["remaining"]) <= int(before["remaining"]), (before, after)
    assert shots[-1] == {"id": campaign_id, "dialled": "7", "answered": "1", "voicemail": "1", "failed": "3",
                         "remaining": "0", "total": "5", "eta": "0s"}
    assert f"campaign {campaign_id}: completed after 7 dials" in out


def check_attempts(store_url: str, campaign_id: str) -> dict[str, str]:
    """The database holds every far end the stand-in played, attempt by attempt; the answered uuids."""
    store = CampaignStore.open(store_url)
    try:
        assert store.campaign(campaign_id).status == "completed"
        assert store.counts(campaign_id) == {
            "done:answered": 2, "done:busy": 1, "done:no_answer": 1, "done:failed": 1, "rejected:invalid": 1,
        }
        attempts = store.attempts(campaign_id)
    finally:
        store.close()
    states: dict[str, list[str]] = defaultdict(list)
    for attempt in attempts:
        states[attempt.number].append(attempt.state)
    assert states == {
        "+12125550101": ["answered"],
        "+12125550102": ["answered"],
        "+12125550103": ["busy", "busy"],
        "+12125550104": ["no_answer", "no_answer"],
        "+12125550105": ["failed"],
    }
    assert {a.hangup_cause for a in attempts if a.state != "answered"} == {
        "USER_BUSY", "NO_ANSWER", "UNALLOCATED_NUMBER",
    }
    assert [a.amd_verdict for a in attempts if a.number == "+12125550102"] == ["machine"]
    return {a.number: a.uuid for a in attempts if a.state == "answered"}


def check_answered_calls(store_url: str, campaign_id: str, answered: dict[str, str]) -> None:
    """The answered calls went through the controller as this campaign's calls, and the agent spoke.

    What it said depends on how fast the speech was heard (the machine is loaded or not): not checked here.
    """
    call_log = CallLog.open(store_url)
    try:
        for number, uuid in answered.items():
            record = call_log.get_call(uuid)
            assert record is not None, number
            assert (record.direction, record.callee, record.campaign_ref) == ("outbound", number, campaign_id)
            assert (record.state, record.hangup_cause) == ("ended", "NORMAL_CLEARING")
            assert any(turn.speaker == "agent" for turn in call_log.turns(uuid)), number
    finally:
        call_log.close()


def test_inbound_only_options_are_refused_with_outbound() -> None:
    for extra in (["--caller-text", "Hello"], ["--call-type", "webrtc"], ["--brain", "llm"]):
        result = CliRunner().invoke(cli, ["demo", "--outbound", *extra])
        assert result.exit_code == 2, result.output
        assert "--outbound dials the sample campaign" in result.output
