"""sql/ (what upgrade applies) and app/store/tables.py (what the code queries) must describe one schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from app.store import upgrade
from app.store.drift import schema_differences, sqlite_affinity
from app.store.tables import metadata


@pytest.fixture
def migrated(store_url: str) -> Iterator[sa.Engine]:
    upgrade(store_url)
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def test_migrated_database_matches_tables_py(migrated: sa.Engine) -> None:
    assert schema_differences(migrated) == []


def _drifted(change: Callable[[sa.MetaData], None]) -> sa.MetaData:
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    change(copy)
    return copy


def _retype(md: sa.MetaData) -> None:
    md.tables["calls"].c.billsec.type = sa.Text()


def _nullable(md: sa.MetaData) -> None:
    md.tables["turns"].c.text.nullable = True


def _drop_index(md: sa.MetaData) -> None:
    calls = md.tables["calls"]
    calls.indexes.discard(next(index for index in calls.indexes if index.name == "calls_created_at_idx"))


def _extra_column(md: sa.MetaData) -> None:
    md.tables["call_events"].append_column(sa.Column("source", sa.Text))


def _extra_table(md: sa.MetaData) -> None:
    sa.Table("campaigns", md, sa.Column("id", sa.Text, primary_key=True))


def _drop_check(md: sa.MetaData) -> None:
    turns = md.tables["turns"]
    check = next(c for c in turns.constraints if c.name == "turns_speaker_check")
    turns.constraints.discard(check)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_retype, "calls.billsec: type"),
        (_nullable, "turns.text: nullable"),
        (_drop_index, "calls: indexes"),
        (_extra_column, "call_events: columns"),
        (_extra_table, "table campaigns is in tables.py only"),
        (_drop_check, "turns: CHECK constraints"),
    ],
)
def test_drift_is_reported(migrated: sa.Engine, change: Callable[[sa.MetaData], None], expected: str) -> None:
    differences = schema_differences(migrated, _drifted(change))
    assert any(expected in difference for difference in differences), differences


@pytest.mark.parametrize(
    "change",
    [
        lambda md: setattr(md.tables["turns"].c.heard_ms, "type", sa.BigInteger()),
        lambda md: setattr(md.tables["calls"].c.created_at, "type", sa.DateTime(timezone=False)),
    ],
    ids=["integer-vs-bigint", "timestamp-without-time-zone"],
)
def test_postgres_compares_exact_types(postgres_url: str, change: Callable[[sa.MetaData], None]) -> None:
    upgrade(postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        assert len(schema_differences(engine, _drifted(change))) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("declared", "affinity"),
    [
        ("BIGINT", "INTEGER"),
        ("VARCHAR(20)", "TEXT"),
        ("TEXT", "TEXT"),
        ("TIMESTAMP WITH TIME ZONE", "NUMERIC"),
        ("DATETIME", "NUMERIC"),
        ("BOOLEAN", "NUMERIC"),
        ("DOUBLE PRECISION", "REAL"),
        ("", "BLOB"),
    ],
)
def test_sqlite_affinity_rules(declared: str, affinity: str) -> None:
    assert sqlite_affinity(declared) == affinity
