"""Bulk inserts: PostgreSQL COPY for big batches (a 100k-row CSV import), plain INSERTs elsewhere."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert_many(connection: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows in the connection's transaction; on PostgreSQL through COPY (several times faster)."""
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = [column.name for column in table.columns]
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_copy_field(row[name]) for name in columns))
        buffer.write("\n")
    buffer.seek(0)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()


def _copy_field(value: object) -> str:
    """One field of COPY's CSV format: unquoted empty is NULL, anything else is quoted text or a number."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + text.replace('"', '""') + '"'
