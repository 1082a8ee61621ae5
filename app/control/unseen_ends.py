"""Close the records of calls that ended while no controller had them (issue 16: no record lost).

At start-up ``serve`` reads the node's journal of live calls (app/store/live_calls.py): the calls the
previous process had started and not ended when it died. Once the event socket answers, each of those
FreeSWITCH no longer has (``show channels as json``) hung up while nobody was there to see it: its
record is ended now, with the event ``ended_unobserved`` and no hangup cause (FreeSWITCH keeps none
once the channel is gone). The others are still up, parked: the reclaimer takes them back and their
resumed session records their end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from app.esl.connection import CommandTimeout
from app.esl.inbound import ApiError, EslUnavailable, InboundClient
from app.store.live_calls import LiveCalls

log = logging.getLogger(__name__)

EVENT = "ended_unobserved"
WAIT_SECONDS = 60.0


class EndRecorder(Protocol):
    def add_event(
        self, uuid: str, name: str, at: datetime, detail: dict[str, object] | None = None
    ) -> None: ...
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


def channel_uuids(show_channels_json: str) -> set[str] | None:
    """The uuids in ``show channels as json``; None when the answer cannot be read (then close nothing)."""
    try:
        document = json.loads(show_channels_json)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("row_count"), int):
        return None
    rows = document.get("rows", [])
    if not isinstance(rows, list):
        return None
    return {row["uuid"] for row in rows if isinstance(row, dict) and isinstance(row.get("uuid"), str)}


def close_unseen_ends(
    inherited: set[str],
    api: Callable[[str], str],
    recorder: EndRecorder,
    journal: LiveCalls,
    now: datetime,
) -> list[str]:
    """End the record of each inherited call the switch no longer has; the uuids closed."""
    channels = channel_uuids(api("show channels as json"))
    if channels is None:
        log.warning("show channels as json: unreadable; records of calls that ended unseen stay open")
        return []
    gone = sorted(inherited - channels)
    for uuid in gone:
        recorder.add_event(uuid, EVENT, now, {"why": "hung up while no controller had the call"})
        recorder.end_call(uuid, at=now, hangup_cause=None, billsec=None, duration=None)
        journal.remove(uuid)
        log.warning("call %s: ended while no controller had it; its record is closed now", uuid)
    return gone


def close_when_connected(
    client: InboundClient,
    inherited: set[str],
    recorder: EndRecorder,
    journal: LiveCalls,
    wait: float = WAIT_SECONDS,
) -> list[str]:
    """Wait for the event socket, then :func:`close_unseen_ends` once (start-up, in its own greenlet)."""
    if not inherited:
        return []
    if not client.wait_connected(wait):
        log.warning(
            "no event socket after %.0f s: %d call(s) of the last run stay open", wait, len(inherited)
        )
        return []
    try:
        return close_unseen_ends(inherited, client.api, recorder, journal, datetime.now(UTC))
    except (ApiError, EslUnavailable, CommandTimeout) as exc:
        log.warning(
            "could not list the channels: %s; %d call(s) of the last run stay open", exc, len(inherited)
        )
        return []
