"""The call log's settings, a part of :class:`app.config.Settings` (``CALLBRIDGE_DATABASE_URL``, ``..._CALL_LOG_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class CallLogSettings(BaseModel):
    """Where calls are recorded, and how a database outage is ridden out (docs/admin.md)."""

    # Call log. Without a URL the embedded default is SQLite in the working directory.
    database_url: str = "sqlite:///callbridge.db"
    # While the database is unreachable, call-log writes go to this local SQLite file and are replayed in
    # order when it is back (created only then). A call waits at most call_log_write_timeout for a write.
    call_log_spool_path: Path = Path("callbridge-spool.db")
    call_log_write_timeout: float = Field(default=2.0, gt=0)
    call_log_retry_min_delay: float = Field(default=0.5, gt=0)
    call_log_retry_max_delay: float = Field(default=10.0, gt=0)
