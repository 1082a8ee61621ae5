"""Hand each CHANNEL_HANGUP_COMPLETE to whoever waits for that channel, even if it came first."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import gevent.event

from app.esl.protocol import Event

HANGUP_EVENT = "CHANNEL_HANGUP_COMPLETE"
MAX_SECONDS = 2**31 - 1


@dataclass(frozen=True)
class Hangup:
    """What the end of a channel tells the dialer."""

    uuid: str
    cause: str
    billsec: int | None
    gateway: str | None
    answered: bool
    amd_verdict: str | None = None  # set by the controller (channel variable callbridge_amd_verdict)

    @classmethod
    def from_event(cls, event: Event) -> Hangup:
        billsec_text = event.variable("billsec") or ""
        answer_epoch = event.variable("answer_epoch") or "0"
        return cls(
            uuid=event.get("Unique-ID", "") or "",
            cause=event.get("Hangup-Cause", "") or event.variable("hangup_cause") or "UNKNOWN",
            billsec=_seconds(billsec_text),
            gateway=event.variable("sip_gateway_name") or None,
            answered=answer_epoch not in ("", "0")
            or (event.get("Caller-Channel-Answered-Time") or "0") != "0",
            amd_verdict=event.variable("callbridge_amd_verdict") or None,
        )


def _seconds(text: str) -> int | None:
    """A channel variable's whole seconds, or None: ASCII digits only (``isdigit()`` takes '²', which
    ``int()`` refuses) and within the call log's INTEGER column."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_SECONDS else None


class HangupWatch:
    """``expect(uuid)`` before the originate is sent, then ``wait``; ``feed`` every channel event.

    Hangups nobody expects yet are kept (a bounded number) because the event can overtake the
    BACKGROUND_JOB that names the channel (a failover leg has a uuid of its own). A waiter that wants
    the end of an *answered* call ignores the hangups of failed legs, which FreeSWITCH sends for the
    primary trunk's leg (carrying our uuid) before a backup trunk answers.
    """

    def __init__(self, keep_unclaimed: int = 2000) -> None:
        self._waiting: dict[str, tuple[gevent.event.AsyncResult, bool]] = {}
        self._unclaimed: OrderedDict[str, Hangup] = OrderedDict()
        self._keep = keep_unclaimed

    def expect(self, uuid: str, *, answered_only: bool = False) -> gevent.event.AsyncResult:
        """A result that receives the hangup of channel ``uuid`` (only an answered one if asked)."""
        existing = self._waiting.get(uuid)
        if existing is not None and existing[1] == answered_only:
            return existing[0]
        result = gevent.event.AsyncResult()
        self._waiting[uuid] = (result, answered_only)
        early = self._unclaimed.pop(uuid, None)
        if early is not None and (early.answered or not answered_only):
            result.set(early)
        return result

    def forget(self, uuid: str) -> None:
        self._waiting.pop(uuid, None)

    def feed(self, event: Event) -> None:
        if event.name != HANGUP_EVENT:
            return
        hangup = Hangup.from_event(event)
        if not hangup.uuid:
            return
        waiting = self._waiting.get(hangup.uuid)
        if waiting is None:
            self._unclaimed[hangup.uuid] = hangup
            while len(self._unclaimed) > self._keep:
                self._unclaimed.popitem(last=False)
            return
        result, answered_only = waiting
        if (hangup.answered or not answered_only) and not result.ready():
            result.set(hangup)
