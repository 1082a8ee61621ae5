"""One way to open a database for the store, with the per-backend settings it relies on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

# Execution option read by the SQLite "begin" hook: "IMMEDIATE" (default) takes the write lock at BEGIN.
SQLITE_BEGIN_OPTION = "callbridge_sqlite_begin"
SQLITE_BUSY_TIMEOUT_S = 30.0


def create_store_engine(url: str, *, pooled: bool = True) -> Engine:
    """Create an engine for ``url`` (PostgreSQL via psycopg2, or SQLite).

    On SQLite, transactions are made real: pysqlite on Python 3.11 never opens a transaction before DDL,
    so we take over ``BEGIN`` ourselves (``BEGIN IMMEDIATE`` unless the connection asks otherwise through
    the ``callbridge_sqlite_begin`` execution option), and foreign keys are switched on.
    ``pooled=False`` gives one fresh connection per checkout (migrations hold session-level locks).
    """
    sa_url = sa.make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if sa_url.get_backend_name() != "sqlite":
        if not pooled:
            kwargs["poolclass"] = NullPool
        return sa.create_engine(sa_url, **kwargs)

    kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
    if sa_url.database in (None, "", ":memory:"):
        kwargs["poolclass"] = StaticPool  # one shared connection, or every checkout sees an empty database
    elif not pooled:
        kwargs["poolclass"] = NullPool
    engine = sa.create_engine(sa_url, **kwargs)
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = (
        None  # autocommit at the driver level; _begin_sqlite_transaction begins
    )
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
    if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")
