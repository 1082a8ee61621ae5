"""The shipped systemd unit starts after FreeSWITCH, restarts on failure and leaves serve time to drain."""

from __future__ import annotations

import configparser
from pathlib import Path

from app.config import load_settings

UNIT = Path(__file__).resolve().parents[2] / "docs" / "systemd" / "callbridge.service"


def test_the_unit_orders_after_freeswitch_and_allows_the_graceful_drain() -> None:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    assert "freeswitch.service" in unit["Unit"]["After"].split()
    assert "freeswitch.service" in unit["Unit"]["Wants"].split()
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].lstrip("-") == "/etc/callbridge.env"
    assert service["User"] not in ("root", "freeswitch")
    assert service["ExecStart"].split()[-1] == "serve"
    assert service["KillSignal"] == "SIGTERM"
    grace = load_settings({}).shutdown_grace_seconds
    assert float(service["TimeoutStopSec"]) > grace + 5
