"""The call-log spool: an append-only local SQLite file that holds call-log writes while the database is away.

Why a SQLite file and not a journal of lines: a committed SQLite transaction is atomic and, in WAL mode
with ``synchronous=FULL``, on disk before ``commit`` returns (the WAL is fsynced at every commit), so an
acknowledged write survives a crash of the process or of the host; a torn last write is rolled back by
SQLite itself instead of leaving half a line to detect. Removing replayed writes is a ``DELETE`` in the
same file (a journal would need a separate, fsynced cursor and compaction), and the depth is a ``COUNT``.
SQLite is in the standard library and already the call log's embedded default.

Order: writes get increasing ids (``AUTOINCREMENT``: never reused, even after the table empties) and are
replayed in id order. A write the database refuses for its content is moved to ``rejected`` in the same
file with the error, so the replay goes on and nothing is dropped silently.

The file is created only when the first write is spooled: a database that never goes away leaves no file.
One connection, guarded by an OS lock, so gevent's pool threads may share the spool.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.store.errors import StoreError
from app.threads import os_lock

logger = logging.getLogger(__name__)

# The call-log methods a spooled write may name (app.store.CallLog's, with the same keyword arguments).
WRITE_KINDS = frozenset({"start_call", "mark_answered", "add_event", "add_turn", "end_call"})
# Arguments that are datetimes: stored as ISO-8601 text with their offset, read back as aware datetimes.
DATETIME_FIELDS = frozenset({"at", "created_at", "started_at", "ended_at"})

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS writes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_uuid TEXT NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL,
        spooled_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rejected (
        id INTEGER PRIMARY KEY,
        call_uuid TEXT NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL,
        spooled_at TEXT NOT NULL,
        rejected_at TEXT NOT NULL,
        error TEXT NOT NULL
    )""",
)


class SpoolError(StoreError):
    """The spool file cannot be opened or written (disk full, permissions, corrupt file)."""


@dataclass(frozen=True)
class CallLogWrite:
    """One call-log write: the CallLog method (``kind``) and its keyword arguments besides the uuid."""

    kind: str
    call_uuid: str
    fields: Mapping[str, object]

    def __post_init__(self) -> None:
        if self.kind not in WRITE_KINDS:
            raise ValueError(f"unknown call-log write {self.kind!r}; expected one of {sorted(WRITE_KINDS)}")


@dataclass(frozen=True)
class SpooledWrite:
    """A write as the spool holds it: ``id`` orders the replay."""

    id: int
    write: CallLogWrite
    spooled_at: datetime


class CallLogSpool:
    """Append, read in order, remove after replay; every change is one durable SQLite transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = os_lock()
        self._connection: sqlite3.Connection | None = None

    def check_writable(self) -> None:
        """Fail now (SpoolError) if the spool could not be created when the database goes away."""
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"call-log spool directory {directory} cannot be created: {exc}") from exc
        if self.path.exists():
            self._open()  # a spool left by an earlier run: open it now, its writes are replayed first
            return
        probe = directory / f".{self.path.name}.probe"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SpoolError(f"call-log spool directory {directory} is not writable: {exc}") from exc

    def append(self, write: CallLogWrite) -> int:
        """Store ``write`` after every earlier one; durable when this returns. Returns its id."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO writes (call_uuid, kind, fields, spooled_at) VALUES (?, ?, ?, ?)",
                (write.call_uuid, write.kind, encode_fields(write.fields), _now()),
            )
            spooled_id = cursor.lastrowid
        assert spooled_id is not None
        return int(spooled_id)

    def head(self, limit: int = 100) -> list[SpooledWrite]:
        """The oldest ``limit`` writes, oldest first (empty when nothing is spooled)."""
        if not self._exists():
            return []
        entries: list[SpooledWrite] = []
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, call_uuid, kind, fields, spooled_at FROM writes ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
            for row in rows:
                try:
                    entries.append(_spooled(row))
                except ValueError as exc:  # unreadable: set aside with the reason, never replayed blindly
                    logger.error("call-log spool %s: write #%d is unreadable: %s", self.path, row[0], exc)
                    connection.execute(
                        "INSERT OR REPLACE INTO rejected"
                        " (id, call_uuid, kind, fields, spooled_at, rejected_at, error)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (*row, _now(), f"unreadable: {exc}"[:2000]),
                    )
                    connection.execute("DELETE FROM writes WHERE id = ?", (row[0],))
        return entries

    def pending(self, call_uuid: str, kind: str) -> list[SpooledWrite]:
        """The call's spooled writes of one kind, oldest first."""
        if not self._exists():
            return []
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, call_uuid, kind, fields, spooled_at FROM writes WHERE call_uuid = ? AND kind = ?"
                " ORDER BY id",
                (call_uuid, kind),
            ).fetchall()
        return [_spooled(row) for row in rows]

    def remove_through(self, last_id: int) -> None:
        """Forget every write up to and including ``last_id`` (they have been replayed)."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM writes WHERE id <= ?", (last_id,))

    def reject(self, entry: SpooledWrite, error: str) -> None:
        """Move a write the database refuses for its content to ``rejected``, with the reason."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO rejected (id, call_uuid, kind, fields, spooled_at, rejected_at, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.write.call_uuid,
                    entry.write.kind,
                    encode_fields(entry.write.fields),
                    entry.spooled_at.isoformat(),
                    _now(),
                    error[:2000],
                ),
            )
            connection.execute("DELETE FROM writes WHERE id = ?", (entry.id,))

    def depth(self) -> int:
        """How many writes wait to be replayed."""
        return self._count("writes")

    def rejected(self) -> int:
        """How many writes the database refused (kept in the file for an administrator)."""
        return self._count("rejected")

    def close(self) -> None:
        """Close the file (reopened on the next use)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _count(self, table: str) -> int:
        if not self._exists():
            return 0
        with self._transaction() as connection:
            count = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return int(count)

    def _exists(self) -> bool:
        return self._connection is not None or self.path.exists()

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute("PRAGMA busy_timeout=5000")
                for statement in _SCHEMA:
                    connection.execute(statement)
            except (OSError, sqlite3.Error) as exc:
                raise SpoolError(f"cannot open the call-log spool {self.path}: {exc}") from exc
            logger.info("call-log spool %s opened", self.path)
            self._connection = connection
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._open()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                raise SpoolError(f"call-log spool {self.path}: {exc}") from exc


def encode_fields(fields: Mapping[str, object]) -> str:
    """JSON text of a write's arguments; datetimes (see DATETIME_FIELDS) as ISO-8601 with offset."""
    plain: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, datetime):
            if name not in DATETIME_FIELDS:
                raise ValueError(f"{name} is not a datetime argument of the call log")
            plain[name] = value.isoformat()
        else:
            plain[name] = value
    return json.dumps(plain, default=str, ensure_ascii=False, sort_keys=True)


def decode_fields(text: str) -> dict[str, object]:
    """The arguments :func:`encode_fields` stored, datetimes restored."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"spooled write is not a JSON object: {text[:80]!r}")
    return {
        name: datetime.fromisoformat(item) if name in DATETIME_FIELDS and isinstance(item, str) else item
        for name, item in value.items()
    }


def _spooled(row: tuple[int, str, str, str, str]) -> SpooledWrite:
    spooled_id, call_uuid, kind, fields, spooled_at = row
    return SpooledWrite(
        id=spooled_id,
        write=CallLogWrite(kind=kind, call_uuid=call_uuid, fields=decode_fields(fields)),
        spooled_at=datetime.fromisoformat(spooled_at),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
