"""Claiming the next contact of a campaign: the heart of idempotent, shared, paced dispatch.

Runs inside the caller's write transaction: the campaign row is locked ``FOR UPDATE`` (so concurrency and
pacing are counted across every dialer), contacts are taken ``FOR UPDATE SKIP LOCKED``, and the attempt row
with its uuid is written before the transaction commits, i.e. before any originate can be sent.
"""

from __future__ import annotations

import json
import logging
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.store.campaign_records import Claimed, ClaimWait
from app.store.campaign_tables import campaign_attempts, campaign_contacts, outbound_campaigns

logger = logging.getLogger(__name__)

# A function of (time zones of the callee, now) -> the first moment the callee may be called.
Schedule = Callable[[str | None, datetime], datetime]

DISPATCHABLE = ("queued", "retry_scheduled")
_CLAIM_SCAN = 50


def live_attempt(table: sa.Table = campaign_attempts) -> sa.ColumnElement[bool]:
    """An attempt still in progress: dialing, or answered and not yet ended."""
    return sa.or_(
        table.c.state == "dialing", sa.and_(table.c.state == "answered", table.c.ended_at.is_(None))
    )


def claim_next(
    connection: Connection,
    campaign_id: str,
    dialer_id: str,
    now: datetime,
    *,
    interval: timedelta,
    schedule: Schedule,
) -> Claimed | ClaimWait:
    """Take the next due contact and commit its attempt row, or say why not and until when.

    Limits hold across every dialer of the campaign: live attempts stay under ``max_concurrent`` and
    originates are spaced by at least ``interval`` (the slower of the campaign's rate and ours).
    Contacts outside their calling window are pushed to its next opening.
    """
    campaign = connection.execute(
        sa.select(outbound_campaigns).where(outbound_campaigns.c.id == campaign_id).with_for_update()
    ).one_or_none()
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id!r}")
    if campaign.status != "running":
        return ClaimWait(campaign.status)
    live = connection.execute(
        sa.select(sa.func.count())
        .select_from(campaign_attempts)
        .where(campaign_attempts.c.campaign_id == campaign_id, live_attempt())
    ).scalar_one()
    if live >= campaign.max_concurrent:
        return ClaimWait("full")
    spacing = max(interval, timedelta(seconds=1 / campaign.cps))
    if campaign.next_dispatch_at is not None and now < campaign.next_dispatch_at:
        return ClaimWait("pacing", campaign.next_dispatch_at)
    contact = _due_contact(connection, campaign_id, now, schedule)
    if isinstance(contact, ClaimWait):
        return contact
    attempt = contact.attempts + 1
    claimed = Claimed(
        uuid=str(uuid_module.uuid4()),
        campaign_id=campaign_id,
        line=contact.line,
        attempt=attempt,
        number=contact.number,
        time_zone=contact.time_zone,
        variables=json.loads(contact.variables),
    )
    connection.execute(
        campaign_attempts.insert().values(
            uuid=claimed.uuid,
            campaign_id=campaign_id,
            line=contact.line,
            attempt=attempt,
            number=contact.number,
            dialer_id=dialer_id,
            state="dialing",
            created_at=now,
        )
    )
    connection.execute(
        campaign_contacts.update()
        .where(campaign_contacts.c.campaign_id == campaign_id, campaign_contacts.c.line == contact.line)
        .values(state="dialing", attempts=attempt, updated_at=now)
    )
    base = max(now, campaign.next_dispatch_at or now)
    connection.execute(
        outbound_campaigns.update()
        .where(outbound_campaigns.c.id == campaign_id)
        .values(next_dispatch_at=base + spacing)
    )
    logger.info("call %s: claimed %s line %d attempt %d", claimed.uuid, campaign_id, claimed.line, attempt)
    return claimed


def _due_contact(
    connection: Connection, campaign_id: str, now: datetime, schedule: Schedule
) -> sa.Row[Any] | ClaimWait:
    contacts = campaign_contacts.c
    for _ in range(_CLAIM_SCAN):
        rows = connection.execute(
            sa.select(campaign_contacts)
            .where(contacts.campaign_id == campaign_id, contacts.state.in_(DISPATCHABLE))
            .where(contacts.due_at <= now)
            .order_by(contacts.due_at, contacts.line)
            .limit(20)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            break
        for row in rows:
            allowed = schedule(row.time_zone, now)
            if allowed <= now:
                return row
            connection.execute(
                campaign_contacts.update()
                .where(contacts.campaign_id == campaign_id, contacts.line == row.line)
                .values(due_at=allowed, updated_at=now)
            )
    else:
        return ClaimWait("not_due", now)
    next_due = connection.execute(
        sa.select(sa.func.min(contacts.due_at)).where(
            contacts.campaign_id == campaign_id, contacts.state.in_(DISPATCHABLE)
        )
    ).scalar_one_or_none()
    return ClaimWait("drained") if next_due is None else ClaimWait("not_due", next_due)
