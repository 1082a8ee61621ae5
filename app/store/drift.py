"""Compare a migrated database with tables.py, so the two cannot silently drift apart.

Types are compared exactly on PostgreSQL (both sides compiled to DDL) and by column affinity on SQLite,
which keeps only the affinity of a declared type (a ``TIMESTAMP WITH TIME ZONE`` column reflects as
NUMERIC). Also compared: column order and nullability, presence of a server default, primary keys,
foreign keys, indexes and the names of CHECK constraints.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

from app.store.tables import metadata as store_metadata


def sqlite_affinity(declared_type: str) -> str:
    """The column affinity SQLite gives a declared type name (rules of its "Datatypes" page, 3.1)."""
    name = declared_type.upper()
    if "INT" in name:
        return "INTEGER"
    if any(marker in name for marker in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in name or not name:
        return "BLOB"
    if any(marker in name for marker in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def schema_differences(bind: Engine | Connection, metadata: sa.MetaData = store_metadata) -> list[str]:
    """Every way the database of ``bind`` differs from ``metadata``; empty when they agree."""
    inspector = sa.inspect(bind)
    dialect = bind.dialect
    differences: list[str] = []
    in_database = {name for name in inspector.get_table_names() if not name.startswith("sqlite_")}
    expected = set(metadata.tables)
    differences += [f"table {name} is in the database only" for name in sorted(in_database - expected)]
    differences += [f"table {name} is in tables.py only" for name in sorted(expected - in_database)]
    for name in sorted(expected & in_database):
        differences += _table_differences(inspector, dialect, metadata.tables[name])
    return differences


def _type_key(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    compiled = type_.compile(dialect=dialect)
    return sqlite_affinity(compiled) if dialect.name == "sqlite" else compiled


def _table_differences(inspector: sa.Inspector, dialect: Dialect, table: sa.Table) -> list[str]:
    name = table.name
    differences: list[str] = []
    reflected = {column["name"]: column for column in inspector.get_columns(name)}
    if list(reflected) != [column.name for column in table.columns]:
        differences.append(f"{name}: columns {list(reflected)} != tables.py {list(table.columns.keys())}")
    for column in table.columns:
        found = reflected.get(column.name)
        if found is None:
            continue
        where = f"{name}.{column.name}"
        actual_type, expected_type = _type_key(found["type"], dialect), _type_key(column.type, dialect)
        if actual_type != expected_type:
            differences.append(f"{where}: type {actual_type} != tables.py {expected_type}")
        if bool(found["nullable"]) != bool(column.nullable):
            differences.append(f"{where}: nullable {found['nullable']} != tables.py {column.nullable}")
        if (found.get("default") is not None) != (column.server_default is not None):
            differences.append(f"{where}: server default {found.get('default')!r} disagrees with tables.py")

    primary_key = inspector.get_pk_constraint(name)
    expected_pk = (table.primary_key.name, [column.name for column in table.primary_key.columns])
    if (primary_key["name"], primary_key["constrained_columns"]) != expected_pk:
        differences.append(f"{name}: primary key {primary_key} != tables.py {expected_pk}")

    actual_indexes = {
        index["name"]: (list(index["column_names"]), bool(index["unique"]))
        for index in inspector.get_indexes(name)
    }
    expected_indexes = {
        index.name: ([column.name for column in index.columns], bool(index.unique)) for index in table.indexes
    }
    if actual_indexes != expected_indexes:
        differences.append(f"{name}: indexes {actual_indexes} != tables.py {expected_indexes}")

    actual_fks = {
        fk["name"]: (
            fk["constrained_columns"],
            fk["referred_table"],
            fk["referred_columns"],
            (fk.get("options") or {}).get("ondelete", "").upper() or None,
        )
        for fk in inspector.get_foreign_keys(name)
    }
    expected_fks = {
        fk.name: (
            [element.parent.name for element in fk.elements],
            fk.referred_table.name,
            [element.column.name for element in fk.elements],
            fk.ondelete.upper() if fk.ondelete else None,
        )
        for fk in table.foreign_key_constraints
    }
    if actual_fks != expected_fks:
        differences.append(f"{name}: foreign keys {actual_fks} != tables.py {expected_fks}")

    actual_checks = {check["name"] for check in inspector.get_check_constraints(name)}
    expected_checks = {
        constraint.name for constraint in table.constraints if isinstance(constraint, sa.CheckConstraint)
    }
    if actual_checks != expected_checks:
        differences.append(f"{name}: CHECK constraints {actual_checks} != tables.py {expected_checks}")
    return differences
