"""What `callbridge calls` prints at 80 columns when piped, its --json, the global --log-level, the LLM check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli
from app.store import CallLog, NewCall, upgrade

UUID = "82da2d4d-8403-4570-b625-f190cbaf0f8d"
SPOOL_FILE = "/var/lib/callbridge/spool/tts-8000-4bf945a4def08ec95d09b9c3.wav"


def recorded_call(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    upgrade(url)
    log = CallLog.open(url)
    at = datetime(2026, 12, 2, 20, 59, tzinfo=UTC)
    log.start_call(NewCall(uuid=UUID, direction="inbound", call_type="sip", caller="+15551230000",
                           callee="+15557654321", created_at=at))
    log.mark_answered(UUID, at)
    log.add_event(UUID, "CHANNEL_ANSWER", at, {"rate": 8000})
    for n in range(4):
        log.add_event(UUID, "PLAYBACK_START", at + timedelta(seconds=n), {"file": SPOOL_FILE})
        log.add_event(UUID, "PLAYBACK_STOP", at + timedelta(seconds=n), {"file": SPOOL_FILE, "status": "done"})
    log.add_turn(UUID, speaker="agent", text="Thank you for calling Bright Smile Dental. " * 3,
                 started_at=at, ended_at=at, heard_ms=6894, timings={"trigger": "call_started", "first_text_ms": 55.0})
    log.end_call(UUID, at=at + timedelta(seconds=35), hangup_cause="NORMAL_CLEARING", billsec=35, duration=35)
    log.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    return {**env, "CALLBRIDGE_DATABASE_URL": url, "COLUMNS": "80"}


def test_tables_at_80_columns_never_split_a_uuid_and_fold_playback(tmp_path: Path) -> None:
    env = recorded_call(tmp_path)
    listed = CliRunner().invoke(cli, ["calls"], env=env)
    assert listed.exit_code == 0, listed.output
    assert any(UUID in line for line in listed.output.splitlines())
    assert max(len(line) for line in listed.output.splitlines()) <= 80
    detail = CliRunner().invoke(cli, ["calls", "--turns", UUID], env=env)
    assert detail.exit_code == 0, detail.output
    lines = detail.output.splitlines()
    assert any(UUID in line for line in lines) and max(len(line) for line in lines) <= 80
    assert "/var/lib/callbridge/spool" not in detail.output
    assert sum("PLAYBACK" in line for line in lines) == 1
    assert "4 played; 4 done" in detail.output


def test_json_output_parses_with_stable_keys(tmp_path: Path) -> None:
    env = recorded_call(tmp_path)
    listed = CliRunner().invoke(cli, ["calls", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    call = json.loads(listed.output)["calls"][0]
    assert call["uuid"] == UUID and call["hangup_cause"] == "NORMAL_CLEARING" and call["billsec"] == 35
    detail = json.loads(CliRunner().invoke(cli, ["calls", "--json", "--events", UUID], env=env).output)
    assert detail["call"]["uuid"] == UUID
    assert [e["name"] for e in detail["events"]].count("PLAYBACK_STOP") == 4
    assert detail["events"][1]["detail"]["file"] == SPOOL_FILE
    assert detail["turns"][0]["timings"]["trigger"] == "call_started"
    missing = CliRunner().invoke(cli, ["calls", "--json", "--events", "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"], env=env)
    assert missing.exit_code != 0 and "no call" in missing.output


def test_global_log_level_reaches_the_settings(tmp_path: Path) -> None:
    env = {**recorded_call(tmp_path), "CALLBRIDGE_LOG_LEVEL": "ERROR"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "--log-level", "debug", "calls"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert " DEBUG " in result.stderr
    bad = CliRunner().invoke(cli, ["--log-level", "loud", "calls"], env=env)
    assert bad.exit_code == 2


def test_serve_help_names_required_settings_and_ports() -> None:
    text = CliRunner().invoke(cli, ["serve", "--help"]).output
    for needed in ("CALLBRIDGE_ESL_PASSWORD", "CALLBRIDGE_DATABASE_URL", "8084", "8090", "8088", "9464"):
        assert needed in text


def test_demo_with_an_unreachable_llm_fails_plainly(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--brain", "llm", "--llm-url", f"http://127.0.0.1:{port}/v1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "unreachable" in result.stderr and f"127.0.0.1:{port}" in result.stderr


def test_the_llm_check_accepts_any_http_answer() -> None:
    from app.llm_check import llm_unreachable  # noqa: PLC0415
    from tests.dialog.openai_server import fake_openai  # noqa: PLC0415

    with fake_openai() as server:  # answers GET /models with 501: still a server
        assert llm_unreachable(server.url) is None
        assert llm_unreachable(server.url + "/chat/completions") is None
        assert not server.requests  # no completion was asked for


def test_serve_refuses_the_vanilla_esl_password(tmp_path: Path) -> None:
    env = {**recorded_call(tmp_path), "CALLBRIDGE_ESL_PASSWORD": "ClueCon"}
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2
    assert "CALLBRIDGE_ESL_PASSWORD" in result.output and "ClueCon" in result.output
