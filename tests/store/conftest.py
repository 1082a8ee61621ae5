"""Databases for the store tests: the real PostgreSQL (fresh database per run) and SQLite files.

PostgreSQL is required, not optional: if it is unreachable every PostgreSQL test errors with the reason
(CI starts it). Each test gets its own PostgreSQL schema inside the run's database, so tests stay
independent without paying for a CREATE DATABASE each.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.store import CallLog, upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "CALLBRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["postgresql", "sqlite"]


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """URL of a database created for this test run (``callbridge_test_<random>``), dropped at the end."""
    name = f"callbridge_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is required by the store tests and is unreachable at {POSTGRES_ADMIN_URL} "
            f"(set CALLBRIDGE_TEST_POSTGRES_URL): {exc}",
            pytrace=False,
        )
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_database_url: str) -> str:
    """A URL whose connections see only a new, empty schema of the run's database."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(postgres_database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    finally:
        engine.dispose()
    url = sa.make_url(postgres_database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'callbridge.db'}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn."""
    fixture = "postgres_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def call_log(store_url: str) -> Iterator[CallLog]:
    """A CallLog on an upgraded, empty database (each backend in turn)."""
    upgrade(store_url)
    log = CallLog.open(store_url)
    try:
        yield log
    finally:
        log.close()
