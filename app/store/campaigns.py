"""Campaign state in PostgreSQL (or SQLite): campaigns, contacts, attempts and the dialers working them.

Dispatch is idempotent: :meth:`CampaignStore.claim_next` commits the attempt row and its uuid before the
dialer sends the originate. Several dialers share a campaign: the campaign row is locked ``FOR UPDATE``
while one of them claims (so concurrency and pacing are counted across all of them) and contacts are taken
``FOR UPDATE SKIP LOCKED``. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (the
database write lock), which serialises claims the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.store import campaign_claims, campaign_reports
from app.store.bulk import insert_many
from app.store.campaign_claims import DISPATCHABLE, Schedule, live_attempt
from app.store.campaign_records import (
    AttemptEnd,
    AttemptRow,
    CampaignRow,
    Claimed,
    ClaimWait,
    NewCampaign,
    NewContact,
    NewReject,
)
from app.store.campaign_tables import (
    campaign_attempts,
    campaign_contacts,
    campaign_dialers,
    campaign_rejects,
    outbound_campaigns,
)
from app.store.engine import SQLITE_BEGIN_OPTION, create_store_engine
from app.store.errors import SchemaNotReadyError, StoreError
from app.store.migrate import discover_migrations, pending_migrations
from app.store.records import CallRow

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row", CampaignRow, AttemptRow)

_BATCH = 5000


class CampaignStoreError(StoreError):
    """A campaign read or write failed, or names a campaign that does not exist."""


def _row(cls: type[_Row], row: sa.Row[Any]) -> _Row:
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls)})


def _chunks(items: Iterable[dict[str, Any]], size: int = _BATCH) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class CampaignStore:
    """Reads and writes campaign state; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str, *, sql_dir: Path | None = None) -> CampaignStore:
        """Connect to ``url``; raise SchemaNotReadyError unless every migration is applied."""
        engine = create_store_engine(url)
        with engine.connect() as connection:
            pending = pending_migrations(connection, discover_migrations(sql_dir))
        if pending:
            engine.dispose()
            labels = ", ".join(migration.label for migration in pending)
            raise SchemaNotReadyError(f"database lacks migrations {labels}: run `callbridge db upgrade`")
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    # --- campaigns -----------------------------------------------------------------------------------

    def create_campaign(
        self,
        spec: NewCampaign,
        contacts: Iterable[NewContact],
        rejects: Iterable[NewReject],
        now: datetime,
    ) -> int:
        """Store a campaign (status ``running``) with its contacts, all in one transaction; return the count."""
        values = {f.name: getattr(spec, f.name) for f in fields(spec)}
        contact_rows = (
            {
                "campaign_id": spec.id,
                "line": contact.line,
                "number": contact.number,
                "time_zone": contact.time_zone,
                "variables": json.dumps(dict(contact.variables), ensure_ascii=False),
                "state": "queued",
                "outcome": None,
                "attempts": 0,
                "due_at": now,
                "updated_at": now,
            }
            for contact in contacts
        )
        reject_rows = (
            {"campaign_id": spec.id, "line": r.line, "raw_number": r.raw_number[:200], "reason": r.reason}
            for r in rejects
        )
        count = 0
        with self._write() as connection:
            connection.execute(outbound_campaigns.insert().values(status="running", created_at=now, **values))
            for chunk in _chunks(contact_rows):
                insert_many(connection, campaign_contacts, chunk)
                count += len(chunk)
            for chunk in _chunks(reject_rows):
                connection.execute(campaign_rejects.insert(), chunk)
        logger.info("campaign %s: created with %d contacts", spec.id, count)
        return count

    def campaign(self, campaign_id: str) -> CampaignRow:
        with self._read() as connection:
            row = connection.execute(
                sa.select(outbound_campaigns).where(outbound_campaigns.c.id == campaign_id)
            ).one_or_none()
        if row is None:
            raise CampaignStoreError(f"no campaign {campaign_id!r}")
        return _row(CampaignRow, row)

    def campaigns(self) -> list[CampaignRow]:
        with self._read() as connection:
            rows = connection.execute(sa.select(outbound_campaigns).order_by(outbound_campaigns.c.created_at))
            return [_row(CampaignRow, row) for row in rows]

    def set_status(self, campaign_id: str, status: str, now: datetime) -> None:
        """Pause, resume (``running``) or cancel. Cancelling closes every contact not yet dialled."""
        with self._write() as connection:
            current = connection.execute(
                sa.select(outbound_campaigns.c.status)
                .where(outbound_campaigns.c.id == campaign_id)
                .with_for_update()
            ).scalar_one_or_none()
            if current is None:
                raise CampaignStoreError(f"no campaign {campaign_id!r}")
            if current in ("cancelled", "completed") and status != current:
                raise CampaignStoreError(f"campaign {campaign_id} is {current}; it cannot become {status}")
            finished = now if status == "cancelled" else None
            connection.execute(
                outbound_campaigns.update()
                .where(outbound_campaigns.c.id == campaign_id)
                .values(status=status, finished_at=finished)
            )
            if status == "cancelled":
                connection.execute(
                    campaign_contacts.update()
                    .where(campaign_contacts.c.campaign_id == campaign_id)
                    .where(campaign_contacts.c.state.in_(DISPATCHABLE))
                    .values(state="done", outcome="cancelled", updated_at=now)
                )
        logger.info("campaign %s: %s -> %s", campaign_id, current, status)

    def complete_if_finished(self, campaign_id: str, now: datetime) -> bool:
        """Mark a running campaign ``completed`` once every contact is done; True if it is now complete."""
        with self._write() as connection:
            open_contacts = connection.execute(
                sa.select(sa.func.count())
                .select_from(campaign_contacts)
                .where(campaign_contacts.c.campaign_id == campaign_id, campaign_contacts.c.state != "done")
            ).scalar_one()
            if open_contacts:
                return False
            connection.execute(
                outbound_campaigns.update()
                .where(outbound_campaigns.c.id == campaign_id, outbound_campaigns.c.status == "running")
                .values(status="completed", finished_at=now)
            )
        return True

    # --- dialers ---------------------------------------------------------------------------------------

    def register_dialer(self, dialer_id: str, campaign_id: str, host: str, pid: int, now: datetime) -> None:
        with self._write() as connection:
            connection.execute(
                campaign_dialers.insert().values(
                    id=dialer_id,
                    campaign_id=campaign_id,
                    host=host,
                    pid=pid,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def heartbeat(self, dialer_id: str, now: datetime, *, stopped: bool = False) -> None:
        values: dict[str, Any] = {"heartbeat_at": now}
        if stopped:
            values["stopped_at"] = now
        with self._write() as connection:
            connection.execute(
                campaign_dialers.update().where(campaign_dialers.c.id == dialer_id).values(values)
            )

    # --- dispatch --------------------------------------------------------------------------------------

    def claim_next(
        self,
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
        try:
            with self._write() as connection:
                return campaign_claims.claim_next(
                    connection, campaign_id, dialer_id, now, interval=interval, schedule=schedule
                )
        except LookupError as exc:
            raise CampaignStoreError(str(exc)) from None

    # --- results -----------------------------------------------------------------------------------------

    def mark_answered(self, uuid: str, *, channel_uuid: str | None, job_result: str, at: datetime) -> bool:
        """The originate succeeded (``+OK``): attempt and contact become ``answered``. False if already ended."""
        attempts = campaign_attempts.c
        with self._write() as connection:
            row = connection.execute(
                sa.select(attempts.campaign_id, attempts.line).where(
                    attempts.uuid == uuid, attempts.state == "dialing"
                )
            ).one_or_none()
            if row is None:
                return False
            connection.execute(
                campaign_attempts.update()
                .where(attempts.uuid == uuid)
                .values(state="answered", channel_uuid=channel_uuid, job_result=job_result, answered_at=at)
            )
            connection.execute(
                campaign_contacts.update()
                .where(
                    campaign_contacts.c.campaign_id == row.campaign_id, campaign_contacts.c.line == row.line
                )
                .values(state="answered", updated_at=at)
            )
        return True

    def finish_attempt(self, uuid: str, end: AttemptEnd) -> bool:
        """Record an attempt's end and move its contact on; False (no change) if it had already ended."""
        attempts = campaign_attempts.c
        with self._write() as connection:
            row = connection.execute(
                sa.select(attempts.campaign_id, attempts.line, attempts.gateway, attempts.job_result)
                .where(attempts.uuid == uuid, live_attempt())
                .with_for_update()
            ).one_or_none()
            if row is None:
                logger.info("call %s: end already recorded; ignored", uuid)
                return False
            connection.execute(
                campaign_attempts.update()
                .where(attempts.uuid == uuid)
                .values(
                    state=end.state,
                    ended_at=end.at,
                    hangup_cause=end.hangup_cause,
                    billsec=end.billsec,
                    gateway=end.gateway or row.gateway,
                    job_result=end.job_result or row.job_result,
                )
            )
            connection.execute(
                campaign_contacts.update()
                .where(
                    campaign_contacts.c.campaign_id == row.campaign_id, campaign_contacts.c.line == row.line
                )
                .values(
                    state=end.contact_state,
                    outcome=end.contact_outcome,
                    due_at=end.contact_due_at or end.at,
                    updated_at=end.at,
                )
            )
        return True

    def set_amd_verdict(self, uuid: str, verdict: str) -> None:
        with self._write() as connection:
            connection.execute(
                campaign_attempts.update().where(campaign_attempts.c.uuid == uuid).values(amd_verdict=verdict)
            )

    def orphaned_attempts(self, campaign_id: str, stale_before: datetime) -> list[AttemptRow]:
        """Live attempts whose dialer stopped or has not sent a heartbeat since ``stale_before``."""
        dialers = campaign_dialers.c
        dead = sa.select(dialers.id).where(
            sa.or_(dialers.stopped_at.is_not(None), dialers.heartbeat_at < stale_before)
        )
        with self._read() as connection:
            rows = connection.execute(
                sa.select(campaign_attempts)
                .where(campaign_attempts.c.campaign_id == campaign_id, live_attempt())
                .where(campaign_attempts.c.dialer_id.in_(dead))
            )
            return [_row(AttemptRow, row) for row in rows]

    def adopt_attempt(self, uuid: str, dialer_id: str) -> None:
        """Make ``dialer_id`` responsible for a live attempt whose dialer died."""
        with self._write() as connection:
            connection.execute(
                campaign_attempts.update().where(campaign_attempts.c.uuid == uuid).values(dialer_id=dialer_id)
            )

    def recorded_call(self, uuid: str) -> CallRow | None:
        """The call log's row for an attempt's uuid: did the controller ever get the call?"""
        with self._read() as connection:
            return campaign_reports.recorded_call(connection, uuid)

    # --- reports -----------------------------------------------------------------------------------------

    def attempts(self, campaign_id: str) -> list[AttemptRow]:
        """Every attempt of the campaign, oldest first."""
        with self._read() as connection:
            return campaign_reports.attempts(connection, campaign_id)

    def counts(self, campaign_id: str) -> dict[str, int]:
        """Contacts per ``state`` (``done:<outcome>`` for finished ones) and ``rejected:<reason>``."""
        with self._read() as connection:
            return campaign_reports.counts(connection, campaign_id)

    def result_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        """One mapping per CSV line: contacts with their last attempt, then rejected lines."""
        with self._read() as connection:
            return campaign_reports.result_rows(connection, campaign_id)

    # --- plumbing ----------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise CampaignStoreError(f"campaign store write failed: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as plain:
                connection = plain.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
                with connection.begin():
                    yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise CampaignStoreError(f"campaign store read failed: {exc}") from exc
