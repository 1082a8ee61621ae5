"""SQLAlchemy Core mirror of sql/002_campaigns.sql (outbound campaigns, contacts, attempts, dialers).

The tables are registered on the store's one ``MetaData`` (app/store/tables.py), so the schema drift
check compares them with the migrated database like every other table.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.store.tables import metadata
from app.store.types import UtcDateTime

CAMPAIGN_STATUSES = ("running", "paused", "cancelled", "completed")
CONTACT_STATES = ("queued", "dialing", "answered", "retry_scheduled", "done")
CONTACT_OUTCOMES = ("answered", "no_answer", "busy", "failed", "unknown", "cancelled")
ATTEMPT_STATES = ("dialing", "answered", "no_answer", "busy", "failed", "unknown")
REJECT_REASONS = ("missing", "invalid", "duplicate", "do_not_call")
AMD_ACTIONS = ("continue", "hangup", "voicemail")
AMD_VERDICTS = ("human", "machine", "unknown")

outbound_campaigns = sa.Table(
    "outbound_campaigns",
    metadata,
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("flow", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("max_concurrent", sa.Integer, nullable=False),
    sa.Column("cps", sa.Double, nullable=False),
    sa.Column("window_start", sa.Text),
    sa.Column("window_end", sa.Text),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("retry_delay_s", sa.Integer, nullable=False),
    sa.Column("amd_action", sa.Text, nullable=False),
    sa.Column("gateways", sa.Text, nullable=False),
    sa.Column("caller_id", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("next_dispatch_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.PrimaryKeyConstraint("id", name="outbound_campaigns_pkey"),
    sa.CheckConstraint(
        "status IN ('running', 'paused', 'cancelled', 'completed')", name="outbound_campaigns_status_check"
    ),
    sa.CheckConstraint("max_concurrent >= 1", name="outbound_campaigns_max_concurrent_check"),
    sa.CheckConstraint("cps > 0", name="outbound_campaigns_cps_check"),
    sa.CheckConstraint("max_attempts >= 1", name="outbound_campaigns_max_attempts_check"),
    sa.CheckConstraint("retry_delay_s >= 0", name="outbound_campaigns_retry_delay_check"),
    sa.CheckConstraint(
        "amd_action IN ('continue', 'hangup', 'voicemail')", name="outbound_campaigns_amd_action_check"
    ),
)

campaign_contacts = sa.Table(
    "campaign_contacts",
    metadata,
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text),
    sa.Column("variables", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("campaign_id", "line", name="campaign_contacts_pkey"),
    sa.ForeignKeyConstraint(
        ["campaign_id"],
        ["outbound_campaigns.id"],
        name="campaign_contacts_campaign_id_fkey",
        ondelete="CASCADE",
    ),
    sa.CheckConstraint(
        "state IN ('queued', 'dialing', 'answered', 'retry_scheduled', 'done')",
        name="campaign_contacts_state_check",
    ),
    sa.CheckConstraint(
        "outcome IS NULL OR outcome IN ('answered', 'no_answer', 'busy', 'failed', 'unknown', 'cancelled')",
        name="campaign_contacts_outcome_check",
    ),
    sa.CheckConstraint("attempts >= 0", name="campaign_contacts_attempts_check"),
    sa.Index("campaign_contacts_number_idx", "campaign_id", "number", unique=True),
    sa.Index("campaign_contacts_due_idx", "campaign_id", "state", "due_at"),
)

campaign_rejects = sa.Table(
    "campaign_rejects",
    metadata,
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("raw_number", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("campaign_id", "line", name="campaign_rejects_pkey"),
    sa.ForeignKeyConstraint(
        ["campaign_id"],
        ["outbound_campaigns.id"],
        name="campaign_rejects_campaign_id_fkey",
        ondelete="CASCADE",
    ),
    sa.CheckConstraint(
        "reason IN ('missing', 'invalid', 'duplicate', 'do_not_call')", name="campaign_rejects_reason_check"
    ),
)

campaign_dialers = sa.Table(
    "campaign_dialers",
    metadata,
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False),
    sa.Column("stopped_at", UtcDateTime),
    sa.PrimaryKeyConstraint("id", name="campaign_dialers_pkey"),
    sa.ForeignKeyConstraint(
        ["campaign_id"],
        ["outbound_campaigns.id"],
        name="campaign_dialers_campaign_id_fkey",
        ondelete="CASCADE",
    ),
)

campaign_attempts = sa.Table(
    "campaign_attempts",
    metadata,
    sa.Column("uuid", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("dialer_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("channel_uuid", sa.Text),
    sa.Column("gateway", sa.Text),
    sa.Column("job_result", sa.Text),
    sa.Column("hangup_cause", sa.Text),
    sa.Column("amd_verdict", sa.Text),
    sa.Column("billsec", sa.Integer),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("answered_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.PrimaryKeyConstraint("uuid", name="campaign_attempts_pkey"),
    sa.ForeignKeyConstraint(
        ["campaign_id", "line"],
        ["campaign_contacts.campaign_id", "campaign_contacts.line"],
        name="campaign_attempts_contact_fkey",
        ondelete="CASCADE",
    ),
    sa.CheckConstraint(
        "state IN ('dialing', 'answered', 'no_answer', 'busy', 'failed', 'unknown')",
        name="campaign_attempts_state_check",
    ),
    sa.CheckConstraint("attempt >= 1", name="campaign_attempts_attempt_check"),
    sa.CheckConstraint(
        "amd_verdict IS NULL OR amd_verdict IN ('human', 'machine', 'unknown')",
        name="campaign_attempts_amd_verdict_check",
    ),
    sa.CheckConstraint("billsec IS NULL OR billsec >= 0", name="campaign_attempts_billsec_check"),
    sa.Index("campaign_attempts_contact_idx", "campaign_id", "line", "attempt", unique=True),
    sa.Index("campaign_attempts_state_idx", "campaign_id", "state"),
)
