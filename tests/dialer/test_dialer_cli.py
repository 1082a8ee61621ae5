"""The campaign commands end to end on a database (no FreeSWITCH needed for these)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app.dialer.cli import call, campaign
from app.store import upgrade


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(url)
    return {"CALLBRIDGE_DATABASE_URL": url, "CALLBRIDGE_DEFAULT_REGION": "US", "CALLBRIDGE_ESL_PASSWORD": None}


def statuses(runner: CliRunner, env: dict[str, str | None]) -> dict[str, str]:
    result = runner.invoke(campaign, ["status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return {record["id"]: record["status"] for record in json.loads(result.output)}


def test_import_status_pause_cancel_export(env: dict[str, str | None], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("Phone,Name\n212-555-0100,Ann\nnope,Bob\n(212) 555-0101,Cy\n", encoding="utf-8")
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+12125550101\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        campaign,
        ["run", str(contacts), "--id", "spring", "--import-only", "--window", "20:00-09:00", "--dnc", str(dnc)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "campaign spring: 1 contacts, 2 skipped" in result.output
    assert "line 3: skipped (invalid) 'nope': nope is not a phone number" in result.output
    assert "line 4: skipped (do_not_call)" in result.output
    assert "stored paused" in result.output and "callbridge campaign resume spring" in result.output

    # An imported campaign is not dialled by anyone: it says paused, not running.
    [record] = json.loads(runner.invoke(campaign, ["status", "spring", "--json"], env=env).output)
    assert record["status"] == "paused"
    assert record["counts"] == {"queued": 1, "rejected:do_not_call": 1, "rejected:invalid": 1}
    assert (record["contacts"], record["remaining"]) == (1, 1)

    # Resuming dials by default: without a switch it fails and the campaign stays paused.
    refused = runner.invoke(campaign, ["resume", "spring"], env=env)
    assert refused.exit_code != 0 and "CALLBRIDGE_ESL_PASSWORD is not set" in refused.output
    assert statuses(runner, env) == {"spring": "paused"}
    assert runner.invoke(campaign, ["resume", "spring", "--no-dial"], env=env).exit_code == 0
    assert statuses(runner, env) == {"spring": "running"}
    assert runner.invoke(campaign, ["pause", "spring"], env=env).exit_code == 0
    assert runner.invoke(campaign, ["cancel", "spring"], env=env).exit_code == 0
    refused = runner.invoke(campaign, ["resume", "spring", "--no-dial"], env=env)
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


def test_run_checks_the_switch_before_storing_anything(env: dict[str, str | None], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone\n2125550100\n", encoding="utf-8")
    runner = CliRunner()
    no_password = runner.invoke(campaign, ["run", str(contacts), "--id", "spring"], env=env)
    assert no_password.exit_code == 1 and "CALLBRIDGE_ESL_PASSWORD is not set" in no_password.output
    unreachable = {
        **env,
        "CALLBRIDGE_ESL_PASSWORD": "a-long-test-password",
        "CALLBRIDGE_ESL_PORT": "1",
        "CALLBRIDGE_ESL_CONNECT_TIMEOUT": "0.2",
    }
    for _ in range(2):  # the same --id again: the same clear error, no leftover campaign
        failed = runner.invoke(campaign, ["run", str(contacts), "--id", "spring"], env=unreachable)
        assert failed.exit_code == 1 and "cannot reach FreeSWITCH at 127.0.0.1:1" in failed.output
    assert statuses(runner, env) == {}


def test_rerunning_an_existing_id_says_what_to_run(env: dict[str, str | None], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone\n2125550100\n2125550101\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(campaign, ["run", str(contacts), "--id", "spring", "--import-only"], env=env).exit_code == 0
    again = runner.invoke(campaign, ["run", str(contacts), "--id", "spring", "--import-only"], env=env)
    assert again.exit_code == 1
    assert "campaign spring already exists (paused, 2 contacts left" in again.output
    assert "callbridge campaign resume spring --dial" in again.output
    assert "Traceback" not in again.output and "IntegrityError" not in again.output
    assert runner.invoke(campaign, ["cancel", "spring"], env=env).exit_code == 0
    done = runner.invoke(campaign, ["run", str(contacts), "--id", "spring", "--import-only"], env=env)
    assert done.exit_code == 1 and "is cancelled; give contacts.csv another --id" in done.output


def test_bad_options_and_unknown_campaigns_are_clear_errors(env: dict[str, str | None], tmp_path: Path) -> None:
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
    assert statuses(runner, env) == {}


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        ("reminder", "no flow 'reminder' is installed (installed: appointment_booking, appointment_reminder)"),
        ("../../etc/passwd", "not a path: '../../etc/passwd' (installed: appointment_booking"),
    ],
)
def test_unknown_flows_are_refused_for_calls_and_campaigns(
    env: dict[str, str | None], tmp_path: Path, flow: str, message: str
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone\n2125550100\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(campaign, ["run", str(contacts), "--flow", flow, "--import-only"], env=env)
    assert refused.exit_code == 2 and message in " ".join(refused.output.split())
    refused_call = runner.invoke(call, ["+14155550123", "--flow", flow], env=env)
    assert refused_call.exit_code == 2 and message in " ".join(refused_call.output.split())
    assert statuses(runner, env) == {}
    ok = runner.invoke(
        campaign, ["run", str(contacts), "--flow", "appointment_reminder", "--import-only"], env=env
    )
    assert ok.exit_code == 0, ok.output


def test_a_file_without_contacts_is_refused(env: dict[str, str | None], tmp_path: Path) -> None:
    runner = CliRunner()
    header_only = tmp_path / "header.csv"
    header_only.write_text("phone,name\n", encoding="utf-8")
    refused = runner.invoke(campaign, ["run", str(header_only), "--import-only"], env=env)
    assert refused.exit_code == 1 and f"no contacts in {header_only}" in refused.output
    all_bad = tmp_path / "bad.csv"
    all_bad.write_text("phone\n12\n", encoding="utf-8")
    refused = runner.invoke(campaign, ["run", str(all_bad), "--import-only"], env=env)
    assert refused.exit_code == 1 and f"no contacts in {all_bad} (1 lines skipped)" in refused.output
    assert "12 is not a phone number: too short" in refused.output
    assert statuses(runner, env) == {}


def test_spreadsheet_encodings_are_read(env: dict[str, str | None], tmp_path: Path) -> None:
    runner = CliRunner()
    text = "phone,name\n2125550100,José Müller\n"
    for index, encoding in enumerate(("utf-8", "utf-8-sig", "utf-16", "cp1252")):
        path = tmp_path / f"contacts-{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        result = runner.invoke(
            campaign, ["run", str(path), "--id", f"c{index}", "--import-only"], env=env
        )
        assert result.exit_code == 0, result.output
        assert ("read as Windows-1252" in result.output) is (encoding == "cp1252")
        out = tmp_path / f"out-{index}.csv"
        assert runner.invoke(campaign, ["export", f"c{index}", str(out)], env=env).exit_code == 0
        with out.open(encoding="utf-8", newline="") as handle:
            [row] = list(csv.DictReader(handle))
        assert json.loads(row["variables"]) == {"name": "José Müller"}


def test_unreadable_bytes_are_refused_with_line_and_offset(env: dict[str, str | None], tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    # 0x81 is neither UTF-8 here nor defined in Windows-1252.
    path.write_bytes(b"phone,name\n2125550100,Ann\n2125550101,B\x81b\n")
    result = CliRunner().invoke(campaign, ["run", str(path), "--import-only"], env=env)
    assert result.exit_code == 1
    assert f"{path}: line 3, byte offset 38:" in result.output and "UTF-8" in result.output
    assert "UnicodeDecodeError" not in result.output


def test_a_wrong_header_exits_with_only_the_error(env: dict[str, str | None], tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("mobile,name\n2125550100,Ann\n", encoding="utf-8")
    # A real process (gevent-patched, as `callbridge` runs): nothing may be printed after the error.
    done = subprocess.run(
        [sys.executable, "-m", "app.dialer", "campaign", "run", str(path), "--import-only"],
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in env.items() if v is not None}},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: {path}: line 1 (the header): no 'phone' column in the header ['mobile', 'name']"


def test_number_errors_are_one_sentence(env: dict[str, str | None]) -> None:
    runner = CliRunner()
    short = runner.invoke(call, ["12"], env=env)
    assert short.exit_code == 1
    assert short.output.strip() == (
        "Error: 12 is not a phone number: too short (give it in E.164 form, e.g. +14155550123)"
    )
    unused = runner.invoke(call, ["+1 555 123 4567"], env=env)
    assert "+1 555 123 4567 is not a phone number: no such number" in unused.output


def _all_commands(group: click.Group) -> list[click.Command]:
    return [*group.commands.values(), call]


def test_every_option_has_help_with_its_default() -> None:
    missing = []
    for command in _all_commands(campaign):
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            text = param.help or ""
            says_default = "default" in text.lower() or param.show_default or param.is_flag
            if not text or not says_default:
                missing.append(f"{command.name} {param.opts[0]}")
    assert missing == []
    listed = CliRunner().invoke(campaign, ["--help"]).output
    assert "watch" not in listed
    run_help = " ".join(CliRunner().invoke(campaign, ["run", "--help"], terminal_width=200).output.split())
    assert "[default: continue]" in run_help and "[default: 10;" in run_help, run_help


def test_status_table_keeps_ids_whole_at_80_columns(env: dict[str, str | None], tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone,name\n2125550100,Ann\n2125550101,Bob\nnope,Cy\n", encoding="utf-8")
    runner = CliRunner()
    long_ids = ["spring-reminders-2026-north-east-region-a", "autumn-follow-ups-2026-west-coast-b"]
    for campaign_id in long_ids:
        result = runner.invoke(
            campaign,
            ["run", str(contacts), "--id", campaign_id, "--import-only", "--name", "a long name " * 4],
            env=env,
        )
        assert result.exit_code == 0, result.output
    table = runner.invoke(campaign, ["status"], env={**env, "COLUMNS": "80"})
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert all(len(line) <= 80 for line in lines), table.output
    for campaign_id in long_ids:
        assert any(campaign_id in line for line in lines), table.output
    assert "\x1b[" not in table.output  # not a terminal: no colour codes
