"""The campaign commands end to end on a database (no FreeSWITCH needed for these)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.dialer.cli import call, campaign
from app.store import upgrade


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(url)
    return {"CALLBRIDGE_DATABASE_URL": url, "CALLBRIDGE_DEFAULT_REGION": "US"}


def test_import_status_pause_cancel_export(env: dict[str, str], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("Phone,Name\n212-555-0100,Ann\nnope,Bob\n(212) 555-0101,Cy\n", encoding="utf-8")
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+12125550101\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        campaign,
        [
            "run",
            str(contacts),
            "--id",
            "spring",
            "--import-only",
            "--window",
            "09:00-20:00",
            "--dnc",
            str(dnc),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "campaign spring: 1 contacts, 2 skipped" in result.output
    assert "line 3: skipped (invalid) 'nope'" in result.output
    assert "line 4: skipped (do_not_call)" in result.output

    status = runner.invoke(campaign, ["status", "spring"], env=env)
    assert (
        "running" in status.output and "queued=1" in status.output and "rejected:invalid=1" in status.output
    )
    assert runner.invoke(campaign, ["pause", "spring"], env=env).exit_code == 0
    assert "paused" in runner.invoke(campaign, ["status"], env=env).output
    assert runner.invoke(campaign, ["resume", "spring"], env=env).exit_code == 0
    assert runner.invoke(campaign, ["cancel", "spring"], env=env).exit_code == 0
    refused = runner.invoke(campaign, ["resume", "spring"], env=env)
    assert refused.exit_code != 0 and "cancelled" in refused.output

    out = tmp_path / "results.csv"
    exported = runner.invoke(campaign, ["export", "spring", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["state"], r["outcome"]) for r in rows] == [
        ("2", "done", "cancelled"),
        ("3", "rejected", "invalid"),
        ("4", "rejected", "do_not_call"),
    ]
    assert rows[0]["variables"] == '{"name": "Ann"}'


def test_bad_options_and_unknown_campaigns_are_clear_errors(env: dict[str, str], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone\n2125550100\n", encoding="utf-8")
    runner = CliRunner()
    bad_window = runner.invoke(campaign, ["run", str(contacts), "--window", "9-5", "--import-only"], env=env)
    assert bad_window.exit_code != 0 and "09:00-20:00" in bad_window.output
    no_column = runner.invoke(
        campaign, ["run", str(contacts), "--number-column", "mobile", "--import-only"], env=env
    )
    assert no_column.exit_code != 0 and "no 'mobile' column" in no_column.output
    assert runner.invoke(campaign, ["status", "nope"], env=env).exit_code != 0
    bad_gateway = runner.invoke(
        campaign, ["run", str(contacts), "--gateway", "evil/+1900", "--import-only"], env=env
    )
    assert bad_gateway.exit_code != 0 and "gateway names" in bad_gateway.output


def test_call_refuses_an_invalid_number_before_dialling(env: dict[str, str]) -> None:
    result = CliRunner().invoke(call, ["+1 555 123 4567"], env=env)
    assert result.exit_code != 0 and "not a valid number" in result.output
