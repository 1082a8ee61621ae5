"""The campaign runner: claims contacts, originates through FreeSWITCH, records what became of each call.

One :class:`Dialer` works one campaign from one process (several may share a campaign). The store
enforces the limits across all of them; this module only decides *when* to ask it, sends the originate
after the attempt is committed, and settles each attempt from its BACKGROUND_JOB and its hangup.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime, timedelta

import gevent
import gevent.event
import gevent.pool

from app import metrics
from app.dialer.dialer_setup import JOB_GRACE_S, DialerConfig, Esl, RunSummary, campaign_policies, utc_now
from app.dialer.dialstring import OutboundCall, originate_command
from app.dialer.hangups import Hangup, HangupWatch
from app.dialer.lost_originate import LOST_CAUSE, LostOutcome, RecordedCall, lost_originate_outcome
from app.dialer.policy import outcome_of_cause
from app.dialer.state import AttemptState, JobResult, settle_contact
from app.esl.protocol import Event
from app.store.campaign_records import AttemptEnd, AttemptRow, Claimed, ClaimWait
from app.store.campaigns import CampaignStore

log = logging.getLogger(__name__)

# How soon a call of ours is looked up again after the event socket came back (its hangup may be lost).
RECONNECT_CHECK_S = 1.0


class Dialer:
    """Runs one campaign until it completes, is paused or cancelled, or :meth:`stop` is called."""

    def __init__(
        self,
        store: CampaignStore,
        esl: Esl,
        campaign_id: str,
        config: DialerConfig,
        *,
        clock: Callable[[], datetime] = utc_now,
        switch_sps: int | None = None,
    ) -> None:
        self._store, self._esl, self.campaign_id, self._config = store, esl, campaign_id, config
        self._clock = clock
        self.dialer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid_module.uuid4().hex[:8]}"
        self.hangups = HangupWatch()
        self.reconciled = 0
        self.dialled = 0  # originates this dialer sent (live progress reads these two)
        self.voicemails = 0  # answered calls the controller judged to be an answering machine
        self._changed = gevent.event.Event()
        self._stop = gevent.event.Event()
        self._calls: gevent.pool.Group = gevent.pool.Group()
        campaign = store.campaign(campaign_id)
        pacing, self._retry, self._window = campaign_policies(campaign)
        self._pacing = pacing.capped(config.max_cps, switch_sps)
        self._gateways = tuple(campaign.gateways.split(","))
        self._flow = campaign.flow
        self._amd = campaign.amd_action
        self._caller_id = campaign.caller_id or config.caller_id_number

    # --- wiring ------------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Give every CHANNEL_HANGUP_COMPLETE of the ESL connection to the dialer."""
        self.hangups.feed(event)

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()

    # --- main loop ---------------------------------------------------------------------------------------

    def run(self, *, exit_when_paused: bool = True) -> RunSummary:
        """Dial until there is nothing left to dial and every call of ours has ended."""
        summary = RunSummary()
        self._store.register_dialer(
            self.dialer_id, self.campaign_id, socket.gethostname(), os.getpid(), self._clock()
        )
        heart = gevent.spawn(self._heartbeat_loop)
        log.info("campaign %s: dialer %s started (%s)", self.campaign_id, self.dialer_id, self._pacing)
        try:
            self._reconcile_orphans()
            summary.stopped_because = self._dispatch_loop(summary, exit_when_paused)
            self._calls.join()
        finally:
            heart.kill()
            summary.reconciled = self.reconciled
            self._store.heartbeat(self.dialer_id, self._clock(), stopped=True)
        log.info(
            "campaign %s: dialer %s stopped (%s)", self.campaign_id, self.dialer_id, summary.stopped_because
        )
        return summary

    def _dispatch_loop(self, summary: RunSummary, exit_when_paused: bool) -> str:
        while not self._stop.is_set():
            if not self._esl.wait_connected(self._config.poll_interval):
                continue
            now = self._clock()
            claim = self._store.claim_next(
                self.campaign_id,
                self.dialer_id,
                now,
                interval=self._pacing.interval,
                schedule=self._allowed_at,
            )
            if isinstance(claim, Claimed):
                summary.dialled += 1
                self.dialled += 1
                summary.uuids.append(claim.uuid)
                self._calls.spawn(self._dial, claim)
                continue
            reason = self._wait_after(claim, now, exit_when_paused)
            if reason:
                return reason
        return "stopped"

    def _wait_after(self, wait: ClaimWait, now: datetime, exit_when_paused: bool) -> str:
        """Wait as ``wait`` says; return a reason to leave the loop, or "" to go on."""
        if wait.reason in ("cancelled", "completed") or (wait.reason == "paused" and exit_when_paused):
            return wait.reason
        # When drained, other dialers may still have calls up (or retries due): keep an eye on the campaign.
        if (
            wait.reason == "drained"
            and len(self._calls) == 0
            and self._store.complete_if_finished(self.campaign_id, self._clock())
        ):
            return "completed"
        delay = self._config.poll_interval
        if wait.until is not None:
            delay = min(delay, max((wait.until - now).total_seconds(), 0.0))
        if wait.reason == "pacing":
            self._stop.wait(delay)
        else:
            self._changed.clear()
            self._changed.wait(delay)
        return ""

    def _allowed_at(self, zones: str | None, now: datetime) -> datetime:
        if self._window is None:
            return now
        return self._window.next_allowed(now, zones, self._config.fallback_time_zone)

    def _heartbeat_loop(self) -> None:
        period = max(self._config.stale_after / 3, 0.2)
        while not self._stop.wait(period):
            try:
                self._store.heartbeat(self.dialer_id, self._clock())
                self._reconcile_orphans()
            except Exception:
                log.exception("campaign %s: heartbeat failed", self.campaign_id)

    # --- one call ----------------------------------------------------------------------------------------

    def _dial(self, claim: Claimed) -> None:
        uuid = claim.uuid
        try:
            command = originate_command(
                OutboundCall(
                    uuid=uuid,
                    number=claim.number,
                    gateways=self._gateways,
                    timeout=self._config.originate_timeout,
                    caller_id_number=self._caller_id,
                    caller_id_name=self._config.caller_id_name,
                    campaign=claim.campaign_id,
                    flow=self._flow,
                    variables=claim.variables,
                    amd=self._amd,
                )
            )
        except ValueError as exc:
            log.error("call %s: not dialled, unsafe originate: %s", uuid, exc)
            self._finish(uuid, AttemptState.FAILED, claim.attempt, claim.time_zone, cause="DIALER_REFUSED")
            return
        hangup = self.hangups.expect(uuid, answered_only=True)
        try:
            log.info("call %s: originate %s line %d to %s", uuid, claim.campaign_id, claim.line, claim.number)
            body = self._esl.bgapi(command).get(timeout=self._config.originate_timeout + JOB_GRACE_S)
        except Exception as exc:
            # The originate may or may not be running: ask FreeSWITCH and the call log, never guess.
            log.warning("call %s: originate reply lost (%s); reconciling", uuid, exc)
            self.hangups.forget(uuid)
            self._reconcile_lost(uuid, claim.attempt, claim.time_zone)
            return
        result = JobResult.parse(str(body))
        if not result.ok:
            self.hangups.forget(uuid)
            log.info("call %s: not answered: %s", uuid, result.text)
            self._finish(
                uuid,
                result.attempt_state,
                claim.attempt,
                claim.time_zone,
                cause=result.cause,
                job=result.text,
            )
            return
        channel = result.channel_uuid or uuid
        self._store.mark_answered(uuid, channel_uuid=channel, job_result=result.text, at=self._clock())
        if channel != uuid:  # carried by a backup trunk: the leg has its own uuid
            self.hangups.forget(uuid)
            hangup = self.hangups.expect(channel, answered_only=True)
        self._wait_for_hangup(uuid, channel, hangup, claim.attempt, claim.time_zone)

    def _wait_for_hangup(
        self, uuid: str, channel: str, waiter: gevent.event.AsyncResult, attempt: int, zones: str | None
    ) -> None:
        ended = self._await_hangup(channel, waiter)
        log.info("call %s: ended %s billsec=%s gateway=%s", uuid, ended.cause, ended.billsec, ended.gateway)
        if ended.amd_verdict:
            self._store.set_amd_verdict(uuid, ended.amd_verdict)
            self.voicemails += ended.amd_verdict == "machine"
        self._finish(
            uuid,
            AttemptState.ANSWERED,
            attempt,
            zones,
            cause=ended.cause,
            billsec=ended.billsec,
            gateway=ended.gateway,
        )

    def _await_hangup(self, channel: str, waiter: gevent.event.AsyncResult) -> Hangup:
        """The channel's hangup. Checks that the channel still exists now and then, in case an event was
        lost, and at once after the event socket reconnected (a hangup while it was down went unseen)."""
        waited = since_check = 0.0
        seen = self._esl.connections_made
        step = min(self._config.stale_after, RECONNECT_CHECK_S)
        try:
            while True:
                try:
                    ended: Hangup = waiter.get(timeout=step)
                    return ended
                except gevent.Timeout:
                    waited += step
                    since_check += step
                    reconnected = self._esl.connections_made != seen and self._esl.wait_connected(0)
                    too_long = waited >= self._config.max_call_seconds
                    if not (reconnected or too_long or since_check >= self._config.stale_after):
                        continue
                    seen, since_check = self._esl.connections_made, 0.0
                    if too_long or not self._channel_exists(channel):
                        return Hangup(channel, "UNKNOWN", None, None, True)
        finally:
            self.hangups.forget(channel)

    def _channel_exists(self, channel: str) -> bool:
        return self._channel_state(channel) is not False  # cannot tell: keep waiting, keep the slot

    def _finish(
        self,
        uuid: str,
        state: AttemptState,
        attempt: int,
        zones: str | None,
        *,
        cause: str | None = None,
        job: str | None = None,
        billsec: int | None = None,
        gateway: str | None = None,
    ) -> None:
        now = self._clock()
        decision = settle_contact(
            state, cause, attempt, retry=self._retry, now=now, window=self._window, zones=zones
        )
        end = AttemptEnd(
            state=state.value,
            at=now,
            hangup_cause=cause,
            job_result=job,
            gateway=gateway,
            billsec=billsec,
            contact_state=decision.state.value,
            contact_outcome=decision.outcome.value if decision.outcome else None,
            contact_due_at=decision.due_at,
        )
        try:
            self._store.finish_attempt(uuid, end)
            metrics.campaign_progress(self.campaign_id, self._store.counts(self.campaign_id))
        finally:
            self._changed.set()

    def _reconcile_lost(self, uuid: str, attempt: int, zones: str | None) -> None:
        """Settle an attempt whose originate reply was lost (see app/dialer/lost_originate.py)."""
        waiter = self.hangups.expect(uuid)  # before asking, so a hangup in between is not missed
        exists = self._ask_switch(uuid)
        row = self._store.recorded_call(uuid)
        record = None if row is None else RecordedCall(row.answered_at is not None, row.ended_at is not None)
        outcome = lost_originate_outcome(exists, record)
        log.warning("call %s: lost originate reconciled: %s", uuid, outcome.value)
        if outcome is LostOutcome.FOLLOW:
            ended = self._await_hangup(uuid, waiter)
            answered, cause, billsec = ended.answered, ended.cause, ended.billsec
        else:
            self.hangups.forget(uuid)
            answered = outcome is LostOutcome.ANSWERED
            cause, billsec = (
                (row.hangup_cause or "UNKNOWN", row.billsec) if row and answered else (LOST_CAUSE, None)
            )
        if answered:
            self._store.mark_answered(uuid, channel_uuid=uuid, job_result="+OK reconciled", at=self._clock())
            self._finish(uuid, AttemptState.ANSWERED, attempt, zones, cause=cause, billsec=billsec)
        elif outcome is LostOutcome.UNKNOWN:
            self._settle_unknown(uuid, attempt, zones)
        else:
            self._finish(uuid, AttemptState(outcome_of_cause(cause).value), attempt, zones, cause=cause)

    def _ask_switch(self, channel: str) -> bool | None:
        """Whether FreeSWITCH has the channel, asked again while the connection comes back (the reply
        was lost with it, so the first ask often meets the same drop); None after ``stale_after``."""
        deadline = time.monotonic() + self._config.stale_after
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._esl.wait_connected(remaining):
                return None
            state = self._channel_state(channel)
            if state is not None:
                return state
            self._stop.wait(min(0.5, max(remaining, 0.0)))
        return None

    def _channel_state(self, channel: str) -> bool | None:
        """Whether FreeSWITCH has the channel; None when it cannot be asked."""
        try:
            return self._esl.api(f"uuid_exists {channel}").strip() == "true"
        except Exception:
            return None

    def _settle_unknown(self, uuid: str, attempt: int, zones: str | None) -> None:
        self._finish(uuid, AttemptState.UNKNOWN, attempt, zones, cause="UNKNOWN")

    # --- attempts of dead dialers ----------------------------------------------------------------------

    def _reconcile_orphans(self) -> int:
        stale_before = self._clock() - timedelta(seconds=self._config.stale_after)
        orphans = self._store.orphaned_attempts(self.campaign_id, stale_before)
        for attempt in orphans:
            self._reconcile(attempt)
        self.reconciled += len(orphans)
        return len(orphans)

    def _reconcile(self, attempt: AttemptRow) -> None:
        """An attempt whose dialer died: follow its call if it is still up, else close it without redial."""
        channel = attempt.channel_uuid or attempt.uuid
        self._store.adopt_attempt(attempt.uuid, self.dialer_id)
        if self._channel_exists(channel):
            log.warning("call %s: adopted from dead dialer %s, still up", attempt.uuid, attempt.dialer_id)
            waiter = self.hangups.expect(channel)
            self._calls.spawn(self._follow_adopted, attempt, channel, waiter)
            return
        log.warning(
            "call %s: dialer %s died; outcome unknown, not redialled", attempt.uuid, attempt.dialer_id
        )
        state = (
            AttemptState.ANSWERED if attempt.state == AttemptState.ANSWERED.value else AttemptState.UNKNOWN
        )
        self._finish(attempt.uuid, state, attempt.attempt, None, cause="UNKNOWN")

    def _follow_adopted(self, attempt: AttemptRow, channel: str, waiter: gevent.event.AsyncResult) -> None:
        if attempt.state == AttemptState.ANSWERED.value:
            self._wait_for_hangup(attempt.uuid, channel, waiter, attempt.attempt, None)
            return
        ended = self._await_hangup(channel, waiter)
        if not ended.answered:
            state = AttemptState(outcome_of_cause(ended.cause).value)
            self._finish(attempt.uuid, state, attempt.attempt, None, cause=ended.cause)
            return
        self._store.mark_answered(
            attempt.uuid, channel_uuid=channel, job_result="+OK adopted", at=self._clock()
        )
        self._finish(
            attempt.uuid,
            AttemptState.ANSWERED,
            attempt.attempt,
            None,
            cause=ended.cause,
            billsec=ended.billsec,
            gateway=ended.gateway,
        )
