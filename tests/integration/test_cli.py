"""The ``callbridge`` command as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    env["CALLBRIDGE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'calls.db'}"
    return env


def test_db_upgrade_is_idempotent_and_calls_lists_nothing_yet(tmp_path: Path) -> None:
    runner = CliRunner()
    env = env_for(tmp_path)
    first = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert re.search(r"applied [1-9]\d* migration", first.output)
    again = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert again.exit_code == 0 and "applied 0 migration(s)" in again.output
    listed = runner.invoke(cli, ["calls"], env=env)
    assert listed.exit_code == 0 and "0 most recent call(s)" in listed.output
    missing = runner.invoke(cli, ["calls", "--events", "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"], env=env)
    assert missing.exit_code != 0 and "no call" in missing.output


def test_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "CALLBRIDGE_ESL_PORT": "not-a-port"}
    result = CliRunner().invoke(cli, ["calls"], env=env)
    assert result.exit_code != 0
    assert "CALLBRIDGE_ESL_PORT='not-a-port'" in result.output


def test_serve_refuses_to_start_without_the_esl_password(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve"], cwd=tmp_path, env=env_for(tmp_path),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert "CALLBRIDGE_ESL_PASSWORD" in result.stderr


def test_the_demo_runs_a_call_end_to_end(tmp_path: Path) -> None:
    """README command 1, in a fresh working directory on embedded defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    env["COLUMNS"] = "80"  # piped, at 80 columns: uuids and paths must still come out whole
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    out = result.stdout
    assert "ended" in out and "NORMAL_CLEARING" in out
    assert "CHANNEL_ANSWER" in out and "PLAYBACK_START/STOP" in out
    uuid = re.search(r"callbridge calls --events ([0-9a-f-]{36})", out)
    assert uuid is not None
    assert sum(uuid.group(1) in line for line in out.splitlines()) >= 3  # call table, recording, hint
    assert str(tmp_path / "spool") not in out
    assert (tmp_path / "callbridge.db").exists()
    assert (tmp_path / "recordings" / f"{uuid.group(1)}.wav").exists()
    assert re.search(r"worker received ([1-9]\d*\.\d) s of caller audio", out)

    # The caller pauses for 900 ms after "an appointment for": that is one turn, not two, and the agent
    # answered the whole of it (read back through the CLI, as an admin would).
    detail = subprocess.run(
        [sys.executable, "-m", "app", "calls", "--json", "--events", uuid.group(1)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=True,
    )
    turns = json.loads(detail.stdout)["turns"]
    caller = [t["text"].lower() for t in turns if t["speaker"] == "caller"]
    assert "appointment for" in caller[0] and "tomorrow morning" in caller[0], caller
    assert not any(t.startswith("tomorrow") for t in caller), caller
    assert turns[2]["speaker"] == "agent" and "morning" in turns[2]["text"].lower()
