"""The dialer tests use the store tests' databases (a fresh PostgreSQL database per run, SQLite files)."""

from tests.store.conftest import postgres_database_url, postgres_url, sqlite_url, store_url

__all__ = ["postgres_database_url", "postgres_url", "sqlite_url", "store_url"]
