"""Apply the numbered plain-SQL migrations of sql/ to a database (``callbridge db upgrade``).

A migration is a file ``NNN_name.sql`` (three or more digits, lower-case name). Each one runs in its own
transaction together with its row in ``schema_migrations``, so it is applied entirely or not at all.
Concurrent upgraders are safe: on PostgreSQL they queue on a session-level advisory lock; on SQLite every
transaction starts with ``BEGIN IMMEDIATE`` (the database write lock), and the version is re-checked
inside it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.store.engine import create_store_engine
from app.store.errors import MigrationError
from app.store.sqlscript import SqlScriptError, split_statements
from app.store.tables import schema_migrations

logger = logging.getLogger(__name__)

# app/store/sql is a link to the repository's sql/ that packaging turns into a copy, so the migrations
# are found the same way in a checkout and in an installed wheel (the Docker image).
DEFAULT_SQL_DIR = Path(__file__).resolve().parent / "sql"
# pg_advisory_lock key shared by every Callbridge upgrader of a database ("cbmi" in ASCII).
ADVISORY_LOCK_KEY = 0x63626D69

_MIGRATION_FILE = re.compile(r"^(?P<version>\d{3,})_(?P<name>[a-z0-9][a-z0-9_]*)\.sql$")

_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
)
"""


@dataclass(frozen=True)
class Migration:
    """One file of sql/."""

    version: int
    name: str
    path: Path

    @property
    def label(self) -> str:
        """The file name without ``.sql``, e.g. ``001_calls``."""
        return self.path.stem


def discover_migrations(sql_dir: Path | None = None) -> list[Migration]:
    """List the migrations of ``sql_dir`` (default: the repository's sql/) in version order.

    Raises MigrationError on a ``.sql`` file that is not named ``NNN_name.sql`` or on a repeated version:
    silently skipping either would leave a database without a change its code expects.
    """
    directory = sql_dir if sql_dir is not None else DEFAULT_SQL_DIR
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files must be named NNN_name.sql (e.g. 001_calls.sql)"
            )
        version = int(match["version"])
        if version in migrations:
            raise MigrationError(f"{path.name}: version {version} is also {migrations[version].path.name}")
        migrations[version] = Migration(version=version, name=match["name"], path=path)
    return [migrations[version] for version in sorted(migrations)]


def upgrade(url: str, sql_dir: Path | None = None) -> list[str]:
    """Apply every migration that ``url`` lacks; return the labels applied (``[]`` when up to date)."""
    migrations = discover_migrations(sql_dir)
    engine = create_store_engine(url, pooled=False)
    applied: list[str] = []
    try:
        with engine.connect() as connection, _upgrade_lock(connection):
            with connection.begin():
                connection.exec_driver_sql(_CREATE_VERSION_TABLE)
            for migration in migrations:
                if _apply(connection, migration):
                    applied.append(migration.label)
            _warn_about_unknown_versions(connection, migrations)
    except sa.exc.SQLAlchemyError as exc:
        raise MigrationError(f"upgrade of {engine.url!r} failed: {exc}") from exc
    finally:
        engine.dispose()
    return applied


def pending_migrations(connection: Connection, migrations: list[Migration]) -> list[Migration]:
    """The ``migrations`` not yet recorded in the database of ``connection``."""
    if not sa.inspect(connection).has_table(schema_migrations.name):
        return list(migrations)
    done = set(connection.execute(sa.select(schema_migrations.c.version)).scalars())
    return [migration for migration in migrations if migration.version not in done]


@contextmanager
def _upgrade_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "postgresql":
        yield  # SQLite: BEGIN IMMEDIATE in every transaction serialises upgraders
        return
    connection.execute(sa.select(sa.func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
    connection.commit()
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
        connection.commit()


def _apply(connection: Connection, migration: Migration) -> bool:
    """Run ``migration`` in one transaction unless it is already recorded; True if it ran."""
    try:
        statements = split_statements(migration.path.read_text(encoding="utf-8"))
    except (OSError, SqlScriptError) as exc:
        raise MigrationError(f"{migration.label}: cannot read: {exc}") from exc
    with connection.begin():
        recorded = connection.execute(
            sa.select(schema_migrations.c.name).where(schema_migrations.c.version == migration.version)
        ).scalar_one_or_none()
        if recorded is not None:
            if recorded != migration.name:
                raise MigrationError(
                    f"{migration.label}: version {migration.version} was applied as {recorded!r}; "
                    "an applied migration must never be renamed or renumbered"
                )
            return False
        logger.info("applying migration %s", migration.label)
        for statement in statements:
            try:
                connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
            except sa.exc.SQLAlchemyError as exc:
                raise MigrationError(f"{migration.label} failed and was rolled back: {exc}") from exc
        connection.execute(
            schema_migrations.insert().values(
                version=migration.version, name=migration.name, applied_at=datetime.now(UTC)
            )
        )
    return True


def _warn_about_unknown_versions(connection: Connection, migrations: list[Migration]) -> None:
    known = {migration.version for migration in migrations}
    recorded = connection.execute(sa.select(schema_migrations.c.version)).scalars().all()
    connection.rollback()
    newer = sorted(set(recorded) - known)
    if newer:
        logger.warning("database has migrations this code does not know (newer code?): %s", newer)
