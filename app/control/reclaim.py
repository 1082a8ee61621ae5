"""Take back the calls a previous controller left parked (issue 16 item 1: re-attach after a restart).

When the controller's socket goes away with a call up, mod_event_socket's ``socket`` application returns
and the shipped dialplan parks the call (``park_timeout=30``). On start-up the controller lists the live
channels over the inbound event socket (``show channels as json``), keeps those executing ``park`` whose
``callbridge_owned`` variable is ``true`` (set by our dialplan before ``socket``), marks each
``callbridge_reattach=true`` and transfers it back into its own extension (``uuid_transfer <uuid> <dest>
XML <context>``), which runs ``socket`` again: the call arrives as a new outbound-socket connection for
the same uuid and its session resumes it (:mod:`app.control.resume`). Calls still held by another
controller run ``socket``, not ``park``, and are left alone. While it runs, each ``CHANNEL_PARK`` of ours
is taken back the same way (:class:`Reclaimer`): calls a draining or crashed controller let go of while
this one is up, as in a rolling deploy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import gevent

from app.control.callinfo import REATTACH_VARIABLE
from app.esl import commands
from app.esl.connection import CommandTimeout
from app.esl.inbound import ApiError, EslUnavailable, InboundClient
from app.esl.protocol import Event

log = logging.getLogger(__name__)

OWNED_VARIABLE = "callbridge_owned"
# How long start-up waits for the event socket before giving up on parked calls (they hang up after 30 s).
RECLAIM_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class ParkedCall:
    """A channel executing ``park``, from one row of ``show channels as json``."""

    uuid: str
    destination: str
    context: str


def parked_calls(show_channels_json: str) -> list[ParkedCall]:
    """The parked channels in FreeSWITCH's ``{"row_count":N,"rows":[...]}`` (``{"row_count":0}`` if none)."""
    try:
        document = json.loads(show_channels_json)
    except ValueError:
        log.warning("show channels as json: not JSON: %r", show_channels_json[:200])
        return []
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        return []
    parked: list[ParkedCall] = []
    for row in rows:
        if not isinstance(row, dict) or row.get("application") != "park":
            continue
        fields = (row.get("uuid"), row.get("dest"), row.get("context"))
        uuid, destination, context = (value if isinstance(value, str) else "" for value in fields)
        if uuid and destination and context:
            parked.append(ParkedCall(uuid, destination, context))
    return parked


def reclaim_parked_calls(api: Callable[[str], str]) -> list[str]:
    """Transfer every parked channel that is ours back into its extension; the uuids taken back.

    ``api`` runs one API command and returns its body, raising :class:`ApiError` on ``-ERR``
    (:meth:`InboundClient.api`). A channel that cannot be read or moved is skipped (it may have just
    hung up); its park timeout ends it.
    """
    taken: list[str] = []
    for call in parked_calls(api("show channels as json")):
        try:
            owned = api(commands.uuid_getvar(call.uuid, OWNED_VARIABLE)).strip() == "true"
        except (ApiError, CommandTimeout) as exc:
            log.warning("call %s: parked, but could not be read: %s", call.uuid, exc)
            continue
        if owned and take_back(api, call):
            taken.append(call.uuid)
    return taken


def take_back(api: Callable[[str], str], call: ParkedCall) -> bool:
    """Mark one parked call of ours ``callbridge_reattach=true`` and transfer it back into its extension."""
    try:
        api(commands.uuid_setvar(call.uuid, REATTACH_VARIABLE, "true"))
        api(commands.uuid_transfer(call.uuid, call.destination, "XML", call.context))
    except (ApiError, CommandTimeout, EslUnavailable, commands.UnsafeValue) as exc:
        log.warning("call %s: parked, but could not be taken back: %s", call.uuid, exc)
        return False
    log.info("call %s: parked call taken back (%s in %s)", call.uuid, call.destination, call.context)
    return True


def parked_from_event(event: Event) -> ParkedCall | None:
    """The call a ``CHANNEL_PARK`` event announces, if it is ours and parked by the dialplan's ``park``.

    CHANNEL_PARK carries the channel's variables (switch_channel_event_set_extended_data). The socket
    application's own park fires it too, with ``current_application`` ``socket``: that call is controlled.
    """
    if event.name != "CHANNEL_PARK" or (event.variable(OWNED_VARIABLE) or "").strip() != "true":
        return None
    if event.variable("current_application") != "park":
        return None
    uuid = event.get("Unique-ID") or ""
    destination = event.get("Caller-Destination-Number") or ""
    context = event.get("Caller-Context") or ""
    return ParkedCall(uuid, destination, context) if uuid and destination and context else None


class Reclaimer:
    """Takes parked calls back while the controller runs: a sweep on every event-socket connection (the
    calls parked while nobody listened: the previous run's) and each ``CHANNEL_PARK`` of ours (a controller
    that drained or died while this one was up: a rolling deploy hands its calls over).

    Pass :meth:`on_event` and :data:`EVENTS` to the :class:`InboundClient`, then run :meth:`run` in a
    greenlet.
    """

    EVENTS = ("CHANNEL_PARK",)

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self.client: InboundClient | None = None
        self.taken: list[str] = []

    def on_event(self, event: Event) -> None:
        """For the client's event greenlet: never blocks (the transfer runs in a greenlet of its own)."""
        call = parked_from_event(event)
        if call is not None and self.client is not None:
            gevent.spawn(self._take_back, self.client, call)

    def run(self, client: InboundClient) -> None:
        """Sweep once per connection, for as long as the greenlet lives."""
        self.client = client
        swept = 0
        while True:
            client.connected.wait()
            if client.connections_made != swept:
                swept = client.connections_made
                try:
                    self.taken += reclaim_parked_calls(client.api)
                except (ApiError, EslUnavailable, CommandTimeout) as exc:
                    log.warning("could not list the parked calls: %s", exc)
                    swept = 0  # try again
            gevent.sleep(self.poll_seconds)

    def _take_back(self, client: InboundClient, call: ParkedCall) -> None:
        if take_back(client.api, call):
            self.taken.append(call.uuid)


def reclaim_when_connected(client: InboundClient, wait: float = RECLAIM_WAIT_SECONDS) -> list[str]:
    """Wait for the event socket, then :func:`reclaim_parked_calls` once (start-up, in its own greenlet)."""
    if not client.wait_connected(wait):
        log.warning(
            "no event socket after %.0f s: calls left parked by a previous run are not taken back", wait
        )
        return []
    try:
        taken = reclaim_parked_calls(client.api)
    except (ApiError, EslUnavailable, CommandTimeout) as exc:
        log.warning("could not list the parked calls: %s", exc)
        return []
    if taken:
        log.info("took back %d call(s) left parked by a previous run", len(taken))
    return taken
