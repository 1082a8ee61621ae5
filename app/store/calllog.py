"""The call log: calls, the ESL events acted on, and conversation turns, in PostgreSQL or SQLite.

Never losing a record: every write first makes sure the call's row exists. When the start of a call was
never recorded (``start_call`` failed, or events arrived first), a *placeholder* row is created with
direction and call_type ``"unknown"``, state ``ringing`` and ``created_at`` set to the time of the first
thing recorded; a later ``start_call`` fills the placeholder in (and returns True). This keeps the
foreign keys of ``call_events``/``turns`` and lets ``end_call`` always land.

Synchronous by design: the controller runs it under gevent with psycopg2 made cooperative by psycogreen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from app.store.engine import SQLITE_BEGIN_OPTION, create_store_engine
from app.store.errors import CallLogError, SchemaNotReadyError
from app.store.migrate import DEFAULT_SQL_DIR, discover_migrations, pending_migrations
from app.store.records import (
    CALL_TYPES,
    DIRECTIONS,
    SPEAKERS,
    STATES,
    TERMINAL_STATES,
    CallRow,
    EventRow,
    NewCall,
    TurnRow,
    check_aware,
    check_call_uuid,
    check_choice,
    check_count,
    check_optional_text,
)
from app.store.tables import UNKNOWN, call_events, calls, turns

logger = logging.getLogger(__name__)


def _check_optional_aware(field: str, value: object) -> None:
    if value is not None:
        check_aware(field, value)


_UPDATABLE_FIELDS: dict[str, Callable[[str, object], None]] = {
    "direction": lambda field, value: check_choice(field, value, DIRECTIONS),
    "call_type": lambda field, value: check_choice(field, value, CALL_TYPES),
    "state": lambda field, value: check_choice(field, value, STATES),
    "caller": check_optional_text,
    "callee": check_optional_text,
    "gateway": check_optional_text,
    "campaign_ref": check_optional_text,
    "hangup_cause": check_optional_text,
    "answered_at": _check_optional_aware,
    "billsec": check_count,
    "duration": check_count,
}
UPDATABLE_FIELDS = frozenset(_UPDATABLE_FIELDS)


class CallLog:
    """Records and reads back calls; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str, *, sql_dir: Path | None = None) -> CallLog:
        """Connect to ``url`` and check its schema is current (SchemaNotReadyError if not).

        ``sql_dir`` is where the migrations live (default: the repository's sql/); when it does not
        exist (an install without sql/), the schema check is skipped.
        """
        engine = create_store_engine(url)
        try:
            _check_schema(engine, sql_dir)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise CallLogError(f"cannot open call log at {engine.url!r}: {exc}") from exc
        except SchemaNotReadyError:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def ping(self) -> None:
        """One round trip to the database (CallLogError if it does not answer)."""
        with self._read(None, "ping") as connection:
            connection.execute(sa.select(1))

    def start_call(self, call: NewCall) -> bool:
        """Record a new call; False (and no change) if its uuid is already recorded."""
        values = {
            "direction": call.direction,
            "call_type": call.call_type,
            "caller": call.caller,
            "callee": call.callee,
            "gateway": call.gateway,
            "campaign_ref": call.campaign_ref,
            "created_at": call.created_at,
        }
        with self._write(call.uuid, "start_call") as connection:
            inserted = connection.execute(
                _insert_ignoring_duplicates(connection).values(uuid=call.uuid, state="ringing", **values)
            ).rowcount
            if inserted:
                logger.info("call %s: started (%s %s)", call.uuid, call.direction, call.call_type)
                return True
            filled = connection.execute(
                calls.update().where(calls.c.uuid == call.uuid, calls.c.direction == UNKNOWN).values(**values)
            ).rowcount
        if filled:
            logger.info("call %s: started; filled in its placeholder row", call.uuid)
            return True
        logger.info("call %s: start_call ignored, already recorded", call.uuid)
        return False

    def mark_answered(self, uuid: str, at: datetime) -> None:
        """Record the answer time; a call already ended or failed keeps its state."""
        check_call_uuid(uuid)
        check_aware("at", at)
        new_state = sa.case((calls.c.state == "ringing", "answered"), else_=calls.c.state)
        with self._write(uuid, "mark_answered") as connection:
            _ensure_call(connection, uuid, at)
            connection.execute(
                calls.update().where(calls.c.uuid == uuid).values(answered_at=at, state=new_state)
            )
        logger.info("call %s: answered", uuid)

    def update_call(self, uuid: str, /, **fields: object) -> None:
        """Set some columns of a call; only the names in UPDATABLE_FIELDS, with valid values."""
        check_call_uuid(uuid)
        if not fields:
            raise ValueError("update_call needs at least one field")
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            raise ValueError(f"update_call cannot set {unknown}; allowed: {sorted(UPDATABLE_FIELDS)}")
        for name, value in fields.items():
            _UPDATABLE_FIELDS[name](name, value)
        with self._write(uuid, "update_call") as connection:
            _ensure_call(connection, uuid, datetime.now(UTC))
            connection.execute(calls.update().where(calls.c.uuid == uuid).values(**fields))
        logger.debug("call %s: updated %s", uuid, sorted(fields))

    def end_call(
        self,
        uuid: str,
        *,
        at: datetime,
        hangup_cause: str | None,
        billsec: int | None,
        duration: int | None,
        state: str = "ended",
    ) -> None:
        """Record the end of a call, creating a placeholder row if its start was never recorded."""
        check_call_uuid(uuid)
        check_aware("at", at)
        check_optional_text("hangup_cause", hangup_cause)
        check_count("billsec", billsec)
        check_count("duration", duration)
        check_choice("state", state, TERMINAL_STATES)
        with self._write(uuid, "end_call") as connection:
            if _ensure_call(connection, uuid, at):
                logger.warning("call %s: ended without a recorded start; placeholder row created", uuid)
            connection.execute(
                calls.update()
                .where(calls.c.uuid == uuid)
                .values(
                    ended_at=at, hangup_cause=hangup_cause, billsec=billsec, duration=duration, state=state
                )
            )
        logger.info("call %s: %s (%s, billsec=%s)", uuid, state, hangup_cause, billsec)

    def add_event(
        self,
        uuid: str,
        name: str,
        at: datetime,
        detail: Mapping[str, object] | None = None,
        *,
        key: str | None = None,
    ) -> None:
        """Append an ESL event the controller acted on; ``detail`` is stored as JSON.

        ``key`` (optional, unique across the call log) makes the append idempotent: an event already
        written with that key is not written again.
        """
        check_call_uuid(uuid)
        if not name:
            raise ValueError("event name must not be empty")
        check_aware("at", at)
        check_optional_text("key", key)
        values = {"name": name, "occurred_at": at, "detail": _to_json(detail)}
        seq = self._append(uuid, at, call_events, values, "add_event", key)
        logger.debug("call %s: event %s #%d", uuid, name, seq)

    def add_turn(
        self,
        uuid: str,
        *,
        speaker: str,
        text: str,
        started_at: datetime | None,
        ended_at: datetime | None,
        interrupted: bool = False,
        heard_ms: int | None = None,
        timings: Mapping[str, object] | None = None,
        key: str | None = None,
    ) -> int:
        """Append a turn of the conversation; returns its sequence number within the call (from 1).

        ``key`` makes the append idempotent as in :meth:`add_event` (the first write's number is returned).
        """
        check_call_uuid(uuid)
        check_optional_text("key", key)
        check_choice("speaker", speaker, SPEAKERS)
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, not {type(text).__name__}")
        _check_optional_aware("started_at", started_at)
        _check_optional_aware("ended_at", ended_at)
        check_count("heard_ms", heard_ms)
        values = {
            "speaker": speaker,
            "text": text,
            "started_at": started_at,
            "ended_at": ended_at,
            "interrupted": bool(interrupted),
            "heard_ms": heard_ms,
            "timings": _to_json(timings),
        }
        first_seen = started_at or ended_at or datetime.now(UTC)
        seq = self._append(uuid, first_seen, turns, values, "add_turn", key)
        logger.debug("call %s: %s turn #%d", uuid, speaker, seq)
        return seq

    def get_call(self, uuid: str) -> CallRow | None:
        """The call's row, or None."""
        with self._read(uuid, "get_call") as connection:
            row = connection.execute(sa.select(calls).where(calls.c.uuid == uuid)).mappings().one_or_none()
        return None if row is None else CallRow(**row)

    def recent_calls(self, limit: int = 20) -> list[CallRow]:
        """The ``limit`` most recently created calls, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = sa.select(calls).order_by(calls.c.created_at.desc(), calls.c.uuid.desc()).limit(limit)
        with self._read(None, "recent_calls") as connection:
            rows = connection.execute(query).mappings().all()
        return [CallRow(**row) for row in rows]

    def events(self, uuid: str) -> list[EventRow]:
        """The call's events, in the order they were added."""
        query = sa.select(call_events).where(call_events.c.call_uuid == uuid).order_by(call_events.c.seq)
        with self._read(uuid, "events") as connection:
            rows = connection.execute(query).mappings().all()
            return [
                EventRow(
                    call_uuid=row["call_uuid"],
                    seq=row["seq"],
                    name=row["name"],
                    occurred_at=row["occurred_at"],
                    detail=_from_json(uuid, row["detail"]),
                )
                for row in rows
            ]

    def turns(self, uuid: str) -> list[TurnRow]:
        """The call's turns, in order."""
        query = sa.select(turns).where(turns.c.call_uuid == uuid).order_by(turns.c.seq)
        with self._read(uuid, "turns") as connection:
            rows = connection.execute(query).mappings().all()
            return [
                TurnRow(
                    **{
                        **row,
                        "interrupted": bool(row["interrupted"]),
                        "timings": _from_json(uuid, row["timings"]),
                    }
                )
                for row in rows
            ]

    def _append(
        self,
        uuid: str,
        first_seen: datetime,
        table: sa.Table,
        values: dict[str, Any],
        action: str,
        key: str | None,
    ) -> int:
        """Insert a row numbered max(seq)+1 within the call; returns that number.

        Appends to one call are serialised by locking its ``calls`` row (PostgreSQL; SQLite's
        BEGIN IMMEDIATE already serialises writers), so two writers never pick the same number. With a
        ``key`` already written for this call, nothing is inserted and that row's number is returned
        (the unique index on ``write_key`` refuses a second row should the key turn up elsewhere).
        """
        next_seq = sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1).where(
            table.c.call_uuid == uuid
        )
        with self._write(uuid, action) as connection:
            _ensure_call(connection, uuid, first_seen)
            connection.execute(sa.select(calls.c.uuid).where(calls.c.uuid == uuid).with_for_update())
            if key is not None:
                known = connection.execute(
                    sa.select(table.c.seq).where(table.c.call_uuid == uuid, table.c.write_key == key)
                ).scalar_one_or_none()
                if known is not None:
                    logger.info("call %s: %s with key %s already written (#%d)", uuid, action, key, known)
                    return int(known)
            seq: int = connection.execute(next_seq).scalar_one()
            connection.execute(table.insert().values(call_uuid=uuid, seq=seq, write_key=key, **values))
        return seq

    @contextmanager
    def _write(self, uuid: str, action: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("call %s: %s failed: %s", uuid, action, exc)
            raise CallLogError(f"call {uuid}: {action} failed: {exc}") from exc

    @contextmanager
    def _read(self, uuid: str | None, action: str) -> Iterator[Connection]:
        subject = f"call {uuid}" if uuid else "call log"
        try:
            with self._engine.connect() as connection:
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise CallLogError(f"{subject}: {action} failed: {exc}") from exc


def _insert_ignoring_duplicates(connection: Connection) -> sa.Insert:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(calls).on_conflict_do_nothing(index_elements=[calls.c.uuid])
    if connection.dialect.name == "sqlite":
        return sqlite.insert(calls).on_conflict_do_nothing(index_elements=[calls.c.uuid])
    raise CallLogError(f"unsupported database {connection.dialect.name!r}")


def _ensure_call(connection: Connection, uuid: str, first_seen: datetime) -> bool:
    """Create a placeholder row for ``uuid`` unless the call exists; True if one was created."""
    placeholder = _insert_ignoring_duplicates(connection).values(
        uuid=uuid, direction=UNKNOWN, call_type=UNKNOWN, state="ringing", created_at=first_seen
    )
    return bool(connection.execute(placeholder).rowcount)


def _check_schema(engine: Engine, sql_dir: Path | None) -> None:
    directory = sql_dir if sql_dir is not None else DEFAULT_SQL_DIR
    if not directory.is_dir():
        logger.info("schema check skipped: no migrations directory at %s", directory)
        return
    migrations = discover_migrations(directory)
    with engine.connect() as connection:
        pending = pending_migrations(connection, migrations)
    if pending:
        labels = ", ".join(migration.label for migration in pending)
        raise SchemaNotReadyError(f"database lacks migrations {labels}: run `callbridge db upgrade`")


def _to_json(value: Mapping[str, object] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(dict(value), default=str, ensure_ascii=False, sort_keys=True)


def _from_json(uuid: str, text: str | None) -> Mapping[str, object] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CallLogError(f"call {uuid}: corrupt JSON in the call log: {exc}") from exc
    if not isinstance(value, dict):
        raise CallLogError(f"call {uuid}: call log JSON is not an object: {text[:80]!r}")
    return value
