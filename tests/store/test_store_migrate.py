from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.store import DEFAULT_SQL_DIR, MigrationError, discover_migrations, upgrade
from app.store.migrate import ADVISORY_LOCK_KEY

ALL_LABELS = [migration.label for migration in discover_migrations()]


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _recorded(url: str) -> list[tuple[int, str, datetime | str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            )
            return [(row[0], row[1], row[2]) for row in rows]
    finally:
        engine.dispose()


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_default_sql_dir_is_the_repository_sql_directory() -> None:
    assert (Path(__file__).resolve().parents[2] / "sql").resolve() == DEFAULT_SQL_DIR.resolve()
    assert ALL_LABELS[0] == "001_calls"


def test_discovery_orders_by_number_not_by_text(tmp_path: Path) -> None:
    sql_dir = _write(tmp_path / "sql", {"010_later.sql": "", "002_early.sql": "", "README.md": "x"})
    assert [(m.version, m.name) for m in discover_migrations(sql_dir)] == [(2, "early"), (10, "later")]


@pytest.mark.parametrize(
    "files",
    [{"1_short.sql": ""}, {"001-dash.sql": ""}, {"001_Upper.sql": ""}, {"001_a.sql": "", "0001_b.sql": ""}],
)
def test_discovery_rejects_misnamed_or_duplicate_versions(tmp_path: Path, files: dict[str, str]) -> None:
    with pytest.raises(MigrationError):
        discover_migrations(_write(tmp_path / "sql", files))


def test_missing_directory_is_an_error(tmp_path: Path, sqlite_url: str) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        upgrade(sqlite_url, tmp_path / "nowhere")


def test_upgrade_applies_everything_once_and_records_it(store_url: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert upgrade(store_url) == ALL_LABELS
    assert {"calls", "call_events", "turns", "schema_migrations"} <= _tables(store_url)
    assert upgrade(store_url) == []
    recorded = _recorded(store_url)
    assert [(version, name) for version, name, _ in recorded] == [
        (m.version, m.name) for m in discover_migrations()
    ]
    for _, _, applied_at in recorded:
        assert _as_utc(applied_at) >= before


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # raw SQLite hands back the stored text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def test_each_migration_is_its_own_transaction(store_url: str, tmp_path: Path) -> None:
    sql_dir = _write(
        tmp_path / "sql",
        {
            "001_good.sql": "CREATE TABLE good (x INTEGER);",
            "002_bad.sql": "CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);",
        },
    )
    with pytest.raises(MigrationError, match="002_bad"):
        upgrade(store_url, sql_dir)
    tables = _tables(store_url)
    assert "good" in tables
    assert "half" not in tables  # the failed migration's DDL was rolled back with it
    assert [(v, n) for v, n, _ in _recorded(store_url)] == [(1, "good")]

    (sql_dir / "002_bad.sql").write_text("CREATE TABLE half (x INTEGER);", encoding="utf-8")
    assert upgrade(store_url, sql_dir) == ["002_bad"]


def test_renamed_applied_migration_is_refused(store_url: str, tmp_path: Path) -> None:
    sql_dir = _write(tmp_path / "sql", {"001_first.sql": "CREATE TABLE a (x INTEGER);"})
    upgrade(store_url, sql_dir)
    (sql_dir / "001_first.sql").rename(sql_dir / "001_renamed.sql")
    with pytest.raises(MigrationError, match="renamed"):
        upgrade(store_url, sql_dir)


def test_percent_signs_in_migrations_reach_the_database_verbatim(store_url: str, tmp_path: Path) -> None:
    sql_dir = _write(
        tmp_path / "sql",
        {"001_pct.sql": "CREATE TABLE p (x TEXT); INSERT INTO p VALUES ('100%');"},
    )
    upgrade(store_url, sql_dir)
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT x FROM p").scalar_one() == "100%"
    finally:
        engine.dispose()


def _run_concurrently(url: str, workers: int) -> list[list[str] | BaseException]:
    barrier = threading.Barrier(workers)
    results: list[list[str] | BaseException] = [[] for _ in range(workers)]

    def work(index: int) -> None:
        barrier.wait()
        try:
            results[index] = upgrade(url)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    return results


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_concurrent_upgrades_apply_each_migration_exactly_once(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue("postgres_url" if backend == "postgresql" else "sqlite_url")
    results = _run_concurrently(url, workers=4)
    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    applied = [label for result in results if isinstance(result, list) for label in result]
    assert sorted(applied) == sorted(ALL_LABELS)
    assert len(_recorded(url)) == len(ALL_LABELS)


def _wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)  # polling a condition with a deadline, not timing the test


def test_postgres_upgrade_waits_for_the_advisory_lock(postgres_url: str) -> None:
    holder = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with holder.connect() as lock_connection:
        lock_connection.execute(sa.select(sa.func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
        lock_connection.commit()
        outcome: list[list[str] | BaseException] = []
        upgrader = threading.Thread(target=lambda: outcome.append(_safe_upgrade(postgres_url)))
        upgrader.start()

        def upgrader_is_waiting_on_lock() -> bool:
            with holder.connect() as probe:
                waiting = probe.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
            return bool(waiting)

        _wait_until(upgrader_is_waiting_on_lock)
        assert "calls" not in _tables(postgres_url)
        lock_connection.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
        lock_connection.commit()
        upgrader.join(timeout=60)
    holder.dispose()
    assert outcome == [ALL_LABELS]
    assert "calls" in _tables(postgres_url)


def _safe_upgrade(url: str) -> list[str] | BaseException:
    try:
        return upgrade(url)
    except BaseException as exc:
        return exc
