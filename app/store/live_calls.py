"""The calls this node's controller holds, in a local SQLite file that outlives a crash of the process.

A controller killed mid-call (SIGKILL, OOM, a crash) records nothing more. Its calls go on without it:
an inbound call parks and is taken back by the next controller (app/control/reclaim.py), but a call
that hangs up before that, and every originated call (``&socket`` has no ``park`` after it), ends
while no controller is there to record the end: its record would stay "answered" for ever. So each
call is written here when its session starts and removed when the session ends; what a new process
finds here at start-up was live when the previous one died (app/control/unseen_ends.py closes those
records whose channel is gone).

The file is node-local on purpose: the call log may be shared by several FreeSWITCH + Callbridge nodes,
and only this node's switch can say that one of this node's calls is gone.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from app.threads import os_lock

logger = logging.getLogger(__name__)


def live_calls_path(spool_path: Path) -> Path:
    """Beside the call-log spool: ``callbridge-spool.db`` -> ``callbridge-spool-live.db``."""
    return spool_path.with_name(f"{spool_path.stem}-live{spool_path.suffix or '.db'}")


class LiveCalls:
    """``add`` and ``remove`` a call's uuid; ``uuids`` lists them. Each change is one committed
    transaction (WAL), so it survives the process being killed right after."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = os_lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a killed process
        self._connection.execute("CREATE TABLE IF NOT EXISTS live (uuid TEXT PRIMARY KEY)")

    def add(self, uuid: str) -> None:
        self._run("INSERT OR IGNORE INTO live (uuid) VALUES (?)", uuid)

    def remove(self, uuid: str) -> None:
        self._run("DELETE FROM live WHERE uuid = ?", uuid)

    def uuids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._connection.execute("SELECT uuid FROM live")}

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _run(self, statement: str, uuid: str) -> None:
        try:
            with self._lock:
                self._connection.execute(statement, (uuid,))
        except sqlite3.Error as exc:  # the journal is a safety net: a call never fails for it
            logger.error("live-calls journal %s: %s", self.path, exc)
