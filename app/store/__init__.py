"""The call log in PostgreSQL (production) or SQLite (embedded default); the only user of SQLAlchemy.

``upgrade(url)`` applies the migrations of sql/; ``CallLog.open(url)`` records and reads calls, their
ESL events and their conversation turns.
"""

from app.store import campaign_tables  # noqa: F401 - registers the campaign tables on the metadata
from app.store.calllog import UPDATABLE_FIELDS, CallLog
from app.store.errors import CallLogError, MigrationError, SchemaNotReadyError, StoreError
from app.store.migrate import DEFAULT_SQL_DIR, Migration, discover_migrations, upgrade
from app.store.records import CallRow, EventRow, NewCall, TurnRow

DEFAULT_URL = "sqlite:///callbridge.db"

__all__ = [
    "DEFAULT_SQL_DIR",
    "DEFAULT_URL",
    "UPDATABLE_FIELDS",
    "CallLog",
    "CallLogError",
    "CallRow",
    "EventRow",
    "Migration",
    "MigrationError",
    "NewCall",
    "SchemaNotReadyError",
    "StoreError",
    "TurnRow",
    "discover_migrations",
    "upgrade",
]
