"""Settings for tests that run the whole stack (the ``stack`` and ``switch`` fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings, load_settings


def stack_settings(tmp_path: Path, flow: Path, **variables: str) -> Settings:
    """Settings for one test's stack: its own SQLite file and spool, free ports, the given flow."""
    base = load_settings(
        {
            "CALLBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
            "CALLBRIDGE_SPOOL_DIR": str(tmp_path / "spool"),
            "CALLBRIDGE_CALL_LOG_SPOOL_PATH": str(tmp_path / "call-log-spool.db"),
            "CALLBRIDGE_FLOW": str(flow),
            **{f"CALLBRIDGE_{name.upper()}": value for name, value in variables.items()},
        }
    )
    return base.model_copy(update={"controller_port": 0, "media_port": 0})
