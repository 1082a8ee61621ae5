"""The controller's call log when the database may go away: writes fall back to a local spool, then replay.

:class:`BufferedCallLog` has the methods the controller records with (its ``CallRecorder``). Each write
goes to the database, waiting at most ``write_timeout`` seconds; when the database does not answer (or
answers that it cannot), the write is appended to the :class:`~app.store.spool.CallLogSpool` instead and
the call goes on. From then on every write goes to the spool, so writes reach the database in the order
they were made, while a replay greenlet retries with jittered exponential backoff (tenacity) and, once
the database answers, writes the spooled writes in order and removes them. When the spool is empty,
writes go straight to the database again.

Nothing twice: every event and turn carries a fresh key (``write_key``, unique in the database). A write
whose commit was in doubt (the time ran out, or the connection dropped after COMMIT was sent) is spooled
with the same key, and a replay cut short by a crash starts again at the first write not yet removed: a
key already written is skipped. The other writes set the same values again (start_call ignores a call it
knows, mark_answered and end_call are the same update twice), and run in order, so replaying them is
harmless. A write the database refuses for its content (a constraint) is moved to the spool's
``rejected`` table with the reason instead of blocking the replay.

Runs under gevent: the waits are bounded with ``gevent.Timeout`` (psycopg2 made cooperative by
psycogreen, as ``python -m app`` does), and the spool's fsyncs run on a thread of its own.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

import gevent
import gevent.event
import gevent.lock
import gevent.threadpool
import tenacity

from app import metrics
from app.store.calllog import CallLog
from app.store.errors import CallLogError
from app.store.live_calls import LiveCalls
from app.store.outage import DatabaseUnavailable, refused_for_content
from app.store.records import NewCall, TurnRow
from app.store.spool import CallLogSpool, CallLogWrite, SpooledWrite, SpoolError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Spooled writes replayed per pass before they are removed from the spool (a crash replays at most these).
REPLAY_BATCH = 100


def apply_write(call_log: CallLog, write: CallLogWrite) -> object:
    """Carry out ``write`` on ``call_log``: the CallLog method it names, with its arguments."""
    fields = cast(dict[str, Any], dict(write.fields))
    if write.kind == "start_call":
        return call_log.start_call(NewCall(uuid=write.call_uuid, **fields))
    method: Callable[..., object] = getattr(call_log, write.kind)
    return method(write.call_uuid, **fields)


class BufferedCallLog:
    """Records through ``call_log`` while the database answers, through ``spool`` while it does not."""

    def __init__(
        self,
        call_log: CallLog,
        spool: CallLogSpool,
        *,
        write_timeout: float = 2.0,
        retry_min_delay: float = 0.5,
        retry_max_delay: float = 10.0,
        database_down: bool = False,
        live: LiveCalls | None = None,
    ) -> None:
        """``database_down``: the database did not answer at start-up (see :func:`open_call_log`), so
        writes go to the spool from the first one, and /readyz says so, until it answers. ``live``: the
        node's journal of calls started and not yet ended (app/store/live_calls.py)."""
        self.call_log = call_log
        self.live = live
        self._database_down = database_down
        self.spool = spool
        self.write_timeout = write_timeout
        self.retry_min_delay = retry_min_delay
        self.retry_max_delay = retry_max_delay
        self._gate = gevent.lock.RLock()  # spooling flag and spool appends, against the replay's switch back
        self._spooling = False
        self._depth = 0
        self._wake = gevent.event.Event()
        self._replayer: gevent.Greenlet | None = None
        # One thread of its own for the spool: its fsyncs never queue behind speech rendering in the hub's
        # pool, and never stall the event loop.
        self._pool = gevent.threadpool.ThreadPool(1)

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the replay greenlet; writes a previous run left in the spool are replayed first."""
        self._depth = self._in_pool(self.spool.depth)
        if self._database_down:
            logger.warning(
                "call log: the database is unreachable at start-up; spooling to %s", self.spool.path
            )
            self._spooling = True
            self._wake.set()
        elif self._depth:
            logger.warning(
                "call-log spool %s holds %d write(s) from before: replaying", self.spool.path, self._depth
            )
            self._spooling = True
            self._wake.set()
        self._report()
        self._replayer = gevent.spawn(self._replay_forever)

    def stop(self) -> None:
        """Stop replaying; what is still spooled stays in the file for the next start."""
        if self._replayer is not None:
            self._replayer.kill(timeout=5)
            self._replayer = None
        if self._depth:
            logger.warning(
                "call-log spool %s keeps %d write(s) for the next start", self.spool.path, self._depth
            )
        self.spool.close()
        self._pool.kill()

    @property
    def spooling(self) -> bool:
        """True while writes go to the spool (the database was away and the spool is not replayed yet)."""
        return self._spooling

    @property
    def depth(self) -> int:
        """Writes in the spool, waiting for the database."""
        return self._depth

    def readiness(self) -> bool | metrics.Degraded:
        """For /readyz: ready (True), or ready but degraded while writes are spooled."""
        if self._spooling or self._depth:
            return metrics.Degraded(f"database unreachable, spooling: {self._depth} write(s) waiting")
        return True

    # -- the controller's CallRecorder ---------------------------------------------------------------

    def start_call(self, call: NewCall) -> bool:
        """As CallLog.start_call; a spooled start is reported as new (True)."""
        fields = {
            "direction": call.direction,
            "call_type": call.call_type,
            "caller": call.caller,
            "callee": call.callee,
            "gateway": call.gateway,
            "campaign_ref": call.campaign_ref,
            "created_at": call.created_at,
        }
        if self.live is not None:
            self.live.add(call.uuid)
        result = self._record(CallLogWrite("start_call", call.uuid, fields))
        return True if result is None else bool(result)

    def mark_answered(self, uuid: str, at: datetime) -> None:
        """As CallLog.mark_answered."""
        self._record(CallLogWrite("mark_answered", uuid, {"at": at}))

    def add_event(
        self, uuid: str, name: str, at: datetime, detail: Mapping[str, object] | None = None
    ) -> None:
        """As CallLog.add_event, with a fresh idempotency key."""
        fields = {"name": name, "at": at, "detail": None if detail is None else dict(detail), "key": _key()}
        self._record(CallLogWrite("add_event", uuid, fields))

    def add_turn(
        self,
        uuid: str,
        *,
        speaker: str,
        text: str,
        started_at: datetime | None,
        ended_at: datetime | None,
        interrupted: bool = False,
        heard_ms: int | None = None,
        timings: Mapping[str, object] | None = None,
    ) -> int:
        """As CallLog.add_turn, with a fresh idempotency key; 0 when spooled (the number comes at replay)."""
        fields = {
            "speaker": speaker,
            "text": text,
            "started_at": started_at,
            "ended_at": ended_at,
            "interrupted": interrupted,
            "heard_ms": heard_ms,
            "timings": None if timings is None else dict(timings),
            "key": _key(),
        }
        result = self._record(CallLogWrite("add_turn", uuid, fields))
        return 0 if result is None else int(cast(int, result))

    def end_call(
        self,
        uuid: str,
        *,
        at: datetime,
        hangup_cause: str | None,
        billsec: int | None,
        duration: int | None,
        state: str = "ended",
    ) -> None:
        """As CallLog.end_call."""
        fields = {
            "at": at,
            "hangup_cause": hangup_cause,
            "billsec": billsec,
            "duration": duration,
            "state": state,
        }
        self._record(CallLogWrite("end_call", uuid, fields))
        if self.live is not None:
            self.live.remove(uuid)

    # -- reading back ------------------------------------------------------------------------------

    def turns(self, uuid: str) -> list[TurnRow]:
        """The call's turns: the database's, then those still in the spool (numbered on from them).

        For restoring a re-attached call during or after an outage. Waits at most ``write_timeout``;
        DatabaseUnavailable when the database does not answer (the spool alone would be a partial story).
        """
        rows = self._bounded(self.call_log.turns, uuid)
        written = {row.write_key for row in rows if row.write_key}
        for entry in self._in_pool(self.spool.pending, uuid, "add_turn"):
            fields = entry.write.fields
            key = fields.get("key")
            if isinstance(key, str) and key in written:
                continue  # replayed already, not yet removed from the spool
            rows.append(
                TurnRow(
                    call_uuid=uuid,
                    seq=len(rows) + 1,
                    speaker=str(fields["speaker"]),
                    text=str(fields["text"]),
                    started_at=cast(datetime | None, fields.get("started_at")),
                    ended_at=cast(datetime | None, fields.get("ended_at")),
                    interrupted=bool(fields.get("interrupted")),
                    heard_ms=cast(int | None, fields.get("heard_ms")),
                    timings=cast(Mapping[str, object] | None, fields.get("timings")),
                    write_key=key if isinstance(key, str) else None,
                )
            )
        return rows

    # -- writing -----------------------------------------------------------------------------------

    def _record(self, write: CallLogWrite) -> object | None:
        """Write to the database, or spool; the method's result, or None when the write was spooled."""
        with self._gate:
            if self._spooling:
                self._append(write)
                return None
        try:
            return self._write_now(write)
        except DatabaseUnavailable as exc:
            with self._gate:
                if not self._spooling:
                    logger.warning(
                        "call log: the database is unreachable (%s); spooling to %s", exc, self.spool.path
                    )
                    self._spooling = True
                self._append(write)
            self._wake.set()
            return None

    def _append(self, write: CallLogWrite) -> None:
        self._in_pool(self.spool.append, write)
        self._depth += 1
        metrics.call_log_spooled()
        self._report()

    def _write_now(self, write: CallLogWrite) -> object:
        """The write, within ``write_timeout``; DatabaseUnavailable unless it is done or refused for content."""
        return self._bounded(apply_write, self.call_log, write)

    def _bounded(self, function: Callable[..., T], *args: object) -> T:
        timeout = gevent.Timeout(self.write_timeout)
        timeout.start()
        try:
            return function(*args)
        except gevent.Timeout as exc:
            if exc is not timeout:
                raise
            raise DatabaseUnavailable(f"no answer within {self.write_timeout:g} s") from None
        except CallLogError as exc:
            if refused_for_content(exc):
                raise
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
        finally:
            timeout.close()

    # -- replaying ---------------------------------------------------------------------------------

    def _replay_forever(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_exception_type(DatabaseUnavailable),
                wait=tenacity.wait_exponential_jitter(
                    multiplier=self.retry_min_delay, max=self.retry_max_delay, jitter=self.retry_min_delay
                ),
                sleep=gevent.sleep,
                before_sleep=self._log_retry,
                reraise=True,
            )
            try:
                retrying(self._replay_all)
            except SpoolError:
                logger.exception("call-log spool %s failed; trying again", self.spool.path)
                gevent.sleep(self.retry_max_delay)
                self._wake.set()

    def _replay_all(self) -> None:
        """Replay the spool in order until it is empty, then send writes to the database again."""
        while True:
            batch = self._in_pool(self.spool.head, REPLAY_BATCH)
            if not batch:
                self._probe()  # the database answers (not only: nothing was spooled yet)
                with self._gate:
                    self._depth = self._in_pool(self.spool.depth)
                    if self._depth == 0:
                        if self._spooling:
                            logger.warning("call log: the database is back; the spool is replayed")
                        self._spooling = False
                        self._report()
                        return
                continue
            self._replay(batch)

    def _replay(self, batch: list[SpooledWrite]) -> None:
        done: int | None = None
        try:
            for entry in batch:
                try:
                    self._write_now(entry.write)
                except (CallLogError, ValueError, TypeError) as exc:
                    if isinstance(exc, DatabaseUnavailable):
                        raise
                    logger.error(
                        "call %s: spooled %s #%d refused: %s",
                        entry.write.call_uuid,
                        entry.write.kind,
                        entry.id,
                        exc,
                    )
                    self._in_pool(self.spool.reject, entry, str(exc))
                    metrics.call_log_rejected()
                else:
                    metrics.call_log_replayed()
                done = entry.id
        finally:
            if done is not None:
                with self._gate:
                    self._in_pool(self.spool.remove_through, done)
                    self._depth = self._in_pool(self.spool.depth)
                    self._report()

    def _probe(self) -> None:
        """Return when the database answers within ``write_timeout``; DatabaseUnavailable if it does not."""
        self._bounded(self.call_log.ping)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        logger.info(
            "call log: replay attempt %d failed (%s); next in %.1f s", state.attempt_number, error, wait
        )

    def _report(self) -> None:
        metrics.call_log_spool(self._depth, self._spooling)

    def _in_pool(self, function: Callable[..., T], *args: object) -> T:
        """Run a spool call on the spool's thread, so its fsync does not stall every call's greenlet."""
        return cast(T, self._pool.apply(function, args))


def _key() -> str:
    return uuid_module.uuid4().hex
