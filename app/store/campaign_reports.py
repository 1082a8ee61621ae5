"""Read-only campaign queries: attempts, counts per state, and the per-line results for export."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.store.campaign_records import AttemptRow
from app.store.campaign_tables import campaign_attempts, campaign_contacts, campaign_rejects
from app.store.records import CallRow
from app.store.tables import calls


def attempts(connection: Connection, campaign_id: str) -> list[AttemptRow]:
    rows = connection.execute(
        sa.select(campaign_attempts)
        .where(campaign_attempts.c.campaign_id == campaign_id)
        .order_by(campaign_attempts.c.created_at, campaign_attempts.c.line)
    )
    names = [f.name for f in fields(AttemptRow)]
    return [AttemptRow(**{name: row._mapping[name] for name in names}) for row in rows]


def counts(connection: Connection, campaign_id: str) -> dict[str, int]:
    contacts, rejects = campaign_contacts.c, campaign_rejects.c
    result: dict[str, int] = {}
    for state, outcome, count in connection.execute(
        sa.select(contacts.state, contacts.outcome, sa.func.count())
        .where(contacts.campaign_id == campaign_id)
        .group_by(contacts.state, contacts.outcome)
    ):
        result[f"done:{outcome}" if state == "done" else state] = count
    for reason, count in connection.execute(
        sa.select(rejects.reason, sa.func.count())
        .where(rejects.campaign_id == campaign_id)
        .group_by(rejects.reason)
    ):
        result[f"rejected:{reason}"] = count
    return result


def result_rows(connection: Connection, campaign_id: str) -> list[dict[str, Any]]:
    contacts, attempt = campaign_contacts.c, campaign_attempts.c
    last = (
        sa.select(attempt.campaign_id, attempt.line, sa.func.max(attempt.attempt).label("attempt"))
        .where(attempt.campaign_id == campaign_id)
        .group_by(attempt.campaign_id, attempt.line)
        .subquery()
    )
    query = (
        sa.select(
            contacts.line,
            contacts.number,
            contacts.state,
            contacts.outcome,
            contacts.attempts,
            contacts.variables,
            attempt.uuid,
            attempt.channel_uuid,
            attempt.gateway,
            attempt.hangup_cause,
            attempt.job_result,
            attempt.amd_verdict,
            attempt.billsec,
            attempt.answered_at,
        )
        .select_from(campaign_contacts)
        .outerjoin(last, sa.and_(last.c.campaign_id == contacts.campaign_id, last.c.line == contacts.line))
        .outerjoin(
            campaign_attempts,
            sa.and_(
                attempt.campaign_id == last.c.campaign_id,
                attempt.line == last.c.line,
                attempt.attempt == last.c.attempt,
            ),
        )
        .where(contacts.campaign_id == campaign_id)
        .order_by(contacts.line)
    )
    rows = [dict(row._mapping) for row in connection.execute(query)]
    rejected = connection.execute(
        sa.select(campaign_rejects.c.line, campaign_rejects.c.raw_number, campaign_rejects.c.reason)
        .where(campaign_rejects.c.campaign_id == campaign_id)
        .order_by(campaign_rejects.c.line)
    )
    rows += [
        {"line": line, "number": raw, "state": "rejected", "outcome": reason}
        for line, raw, reason in rejected
    ]
    return rows


def recorded_call(connection: Connection, uuid: str) -> CallRow | None:
    """The call log's row for ``uuid`` (the controller records every call it answers), or None."""
    row = connection.execute(sa.select(calls).where(calls.c.uuid == uuid)).mappings().one_or_none()
    return None if row is None else CallRow(**{name: row[name] for name in (f.name for f in fields(CallRow))})
