"""One outbound call (``callbridge call``): record it, originate it, record what FreeSWITCH answered."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.dialer.dialer_setup import JOB_GRACE_S, Esl, utc_now
from app.dialer.dialstring import OutboundCall, originate_command
from app.dialer.hangups import Hangup, HangupWatch
from app.dialer.state import JobResult
from app.store.records import NewCall

log = logging.getLogger(__name__)


class CallRecorder(Protocol):
    """The part of ``app.store.CallLog`` a single outbound call writes to."""

    def start_call(self, call: NewCall) -> bool: ...
    def add_event(
        self, uuid: str, name: str, at: datetime, detail: Mapping[str, object] | None = None
    ) -> None: ...
    def update_call(self, uuid: str, /, **fields: object) -> None: ...
    def end_call(
        self,
        uuid: str,
        *,
        at: datetime,
        hangup_cause: str | None,
        billsec: int | None,
        duration: int | None,
        state: str = "ended",
    ) -> None: ...


@dataclass(frozen=True)
class CallOutcome:
    uuid: str
    result: JobResult
    hangup: Hangup | None


def place_call(
    esl: Esl,
    recorder: CallRecorder,
    call: OutboundCall,
    *,
    hangups: HangupWatch | None = None,
    wait_for_hangup: bool = False,
    clock: Callable[[], datetime] = utc_now,
) -> CallOutcome:
    """Originate ``call`` and record it in the call log under its pre-assigned uuid.

    The row exists before the originate is sent; the BACKGROUND_JOB result is added as an event and a
    failure ends the row with its cause. With ``wait_for_hangup`` (needs ``hangups`` fed with the ESL
    events) it also waits for the end of an answered call and records its gateway.
    """
    command = originate_command(call)  # refuses unsafe values before anything is recorded
    recorder.start_call(
        NewCall(
            uuid=call.uuid,
            direction="outbound",
            call_type=call.call_type,
            caller=call.caller_id_number,
            callee=call.number,
            gateway=call.gateways[0],
            campaign_ref=call.campaign,
            created_at=clock(),
        )
    )
    waiter = hangups.expect(call.uuid, answered_only=True) if hangups is not None else None
    log.info("call %s: originate to %s via %s", call.uuid, call.number, "|".join(call.gateways))
    body = str(esl.bgapi(command).get(timeout=call.timeout + JOB_GRACE_S))
    result = JobResult.parse(body)
    recorder.add_event(call.uuid, "BACKGROUND_JOB", clock(), {"result": result.text})
    if not result.ok:
        log.info("call %s: not answered: %s", call.uuid, result.text)
        recorder.end_call(
            call.uuid, at=clock(), hangup_cause=result.cause, billsec=None, duration=None, state="failed"
        )
        return CallOutcome(call.uuid, result, None)
    channel = result.channel_uuid or call.uuid
    if channel != call.uuid:
        log.warning("call %s: carried by a backup trunk as channel %s", call.uuid, channel)
        recorder.add_event(call.uuid, "FAILOVER", clock(), {"channel_uuid": channel})
    if not (wait_for_hangup and hangups is not None and waiter is not None):
        return CallOutcome(call.uuid, result, None)
    if channel != call.uuid:
        hangups.forget(call.uuid)
        waiter = hangups.expect(channel, answered_only=True)
    ended: Hangup = waiter.get()
    hangups.forget(channel)
    if ended.gateway:
        recorder.update_call(call.uuid, gateway=ended.gateway)
    log.info("call %s: ended %s via %s", call.uuid, ended.cause, ended.gateway)
    return CallOutcome(call.uuid, result, ended)
