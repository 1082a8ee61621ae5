"""Telling a database outage from a refused write, and starting up while the database is away.

A store error caused by not reaching the database (connection refused, dropped, timed out) is an outage:
the write belongs in the call-log spool (app/store/buffered.py) and is tried again later. One the
database raised for the write itself (a constraint, a bad value) is not, and retrying cannot help.
"""

from __future__ import annotations

import logging

import gevent
import sqlalchemy as sa
import tenacity

from app.store.calllog import CallLog
from app.store.engine import create_store_engine
from app.store.errors import CallLogError, MigrationError
from app.store.migrate import upgrade

logger = logging.getLogger(__name__)


class DatabaseUnavailable(CallLogError):
    """The database did not take a write in time, or could not: the write belongs in the spool."""


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (a store error) comes from not reaching the database, not from what was asked."""
    return isinstance(exc.__cause__, sa.exc.OperationalError | sa.exc.InterfaceError)


def refused_for_content(exc: CallLogError) -> bool:
    """True when the database refused the write itself (a constraint, a bad value): retrying cannot help."""
    return isinstance(exc.__cause__, sa.exc.IntegrityError | sa.exc.DataError)


def open_call_log(url: str) -> tuple[CallLog, bool]:
    """CallLog.open, or, when the database does not answer, a call log that will reach it later.

    Returns the call log and whether the database was unreachable (its schema then went unchecked).
    """
    try:
        return CallLog.open(url), False
    except CallLogError as exc:
        if not database_unreachable(exc):
            raise
        logger.error("call log: %s; taking calls anyway, spooling their records until it answers", exc)
        return CallLog(create_store_engine(url)), True


def upgrade_when_reachable(url: str, *, min_delay: float = 0.5, max_delay: float = 10.0) -> None:
    """Apply the migrations as soon as the database answers (a start-up during an outage skipped them).

    Until then spooled writes that need the new schema fail at replay and wait in the spool.
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(
            lambda exc: isinstance(exc, MigrationError) and database_unreachable(exc)
        ),
        wait=tenacity.wait_exponential_jitter(multiplier=min_delay, max=max_delay, jitter=min_delay),
        sleep=gevent.sleep,
        reraise=True,
    )
    try:
        applied = retrying(upgrade, url)
    except MigrationError:
        logger.exception(
            "call log: the database is back but its migrations failed: run `callbridge db upgrade`"
        )
        return
    logger.info(
        "call log: the database answers; migrations applied: %s", ", ".join(applied) or "none pending"
    )
