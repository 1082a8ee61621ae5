"""Exceptions raised by the store; the caller decides whether a call goes on without its log."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class of every store failure."""


class CallLogError(StoreError):
    """A call-log read or write failed (database unreachable, constraint violated, corrupt row...)."""


class MigrationError(StoreError):
    """The migrations in sql/ are malformed, or one of them failed (it was rolled back)."""


class SchemaNotReadyError(StoreError):
    """The database lacks migrations that this code needs: run ``callbridge db upgrade``."""
