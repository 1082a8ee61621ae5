"""SQLAlchemy Core mirror of the schema that sql/ creates.

sql/ is the source of truth (it is what ``callbridge db upgrade`` applies); these tables are what the code
queries with. tests/store/test_schema_drift.py applies the migrations, reflects the database and fails if
the two disagree on columns, types, nullability, keys, indexes or constraint names.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.store.types import UtcDateTime

# Values a placeholder row carries when a call is recorded without its start (see CallLog).
UNKNOWN = "unknown"

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("version", name="schema_migrations_pkey"),
)

calls = sa.Table(
    "calls",
    metadata,
    sa.Column("uuid", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("call_type", sa.Text, nullable=False),
    sa.Column("caller", sa.Text),
    sa.Column("callee", sa.Text),
    sa.Column("gateway", sa.Text),
    sa.Column("campaign_ref", sa.Text),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("answered_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("hangup_cause", sa.Text),
    sa.Column("billsec", sa.Integer),
    sa.Column("duration", sa.Integer),
    sa.PrimaryKeyConstraint("uuid", name="calls_pkey"),
    sa.CheckConstraint("direction IN ('inbound', 'outbound', 'unknown')", name="calls_direction_check"),
    sa.CheckConstraint("call_type IN ('sip', 'webrtc', 'unknown')", name="calls_call_type_check"),
    sa.CheckConstraint("state IN ('ringing', 'answered', 'ended', 'failed')", name="calls_state_check"),
    sa.CheckConstraint("billsec IS NULL OR billsec >= 0", name="calls_billsec_check"),
    sa.CheckConstraint("duration IS NULL OR duration >= 0", name="calls_duration_check"),
    sa.Index("calls_created_at_idx", "created_at"),
    sa.Index("calls_campaign_ref_idx", "campaign_ref", "created_at"),
)

call_events = sa.Table(
    "call_events",
    metadata,
    sa.Column("call_uuid", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("detail", sa.Text),
    # The writer's idempotency key (sql/003_write_keys.sql): a replayed append with a known key is skipped.
    sa.Column("write_key", sa.Text),
    sa.PrimaryKeyConstraint("call_uuid", "seq", name="call_events_pkey"),
    sa.ForeignKeyConstraint(
        ["call_uuid"], ["calls.uuid"], name="call_events_call_uuid_fkey", ondelete="CASCADE"
    ),
    sa.CheckConstraint("seq >= 1", name="call_events_seq_check"),
    sa.Index("call_events_occurred_at_idx", "occurred_at"),
    sa.Index("call_events_write_key_idx", "write_key", unique=True),
)

turns = sa.Table(
    "turns",
    metadata,
    sa.Column("call_uuid", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("speaker", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("interrupted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("heard_ms", sa.Integer),
    sa.Column("timings", sa.Text),
    sa.Column("write_key", sa.Text),
    sa.PrimaryKeyConstraint("call_uuid", "seq", name="turns_pkey"),
    sa.ForeignKeyConstraint(["call_uuid"], ["calls.uuid"], name="turns_call_uuid_fkey", ondelete="CASCADE"),
    sa.CheckConstraint("seq >= 1", name="turns_seq_check"),
    sa.CheckConstraint("speaker IN ('caller', 'agent')", name="turns_speaker_check"),
    sa.CheckConstraint("heard_ms IS NULL OR heard_ms >= 0", name="turns_heard_ms_check"),
    sa.Index("turns_write_key_idx", "write_key", unique=True),
)
