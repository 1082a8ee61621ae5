"""The stand-in's event system: base headers and delivery to subscribed listeners."""

from __future__ import annotations

import itertools
import logging
import socket
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate

from app.sim.wire import Event

logger = logging.getLogger(__name__)

Origin = tuple[str, str, int]
"""(Event-Calling-File, Event-Calling-Function, Event-Calling-Line-Number)."""

ORIGIN_API_EXEC: Origin = ("mod_event_socket.c", "api_exec", 1572)
ORIGIN_CHANNEL_DATA: Origin = ("mod_event_socket.c", "parse_command", 2021)


class EventBus:
    """Creates events with FreeSWITCH's core headers and hands fired events to subscribers."""

    def __init__(self, core_uuid: str | None = None, hostname: str | None = None) -> None:
        self.core_uuid = core_uuid or str(uuid.uuid4())
        self.hostname = hostname or socket.gethostname()
        self.ipv4 = "127.0.0.1"
        self.ipv6 = "::1"
        self._sequence = itertools.count(1)
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, deliver: Callable[[Event], None]) -> None:
        """Register a callback that sees every fired event (it filters for itself)."""
        self._subscribers.append(deliver)

    def unsubscribe(self, deliver: Callable[[Event], None]) -> None:
        """Stop delivering to ``deliver``; unknown callbacks are ignored."""
        if deliver in self._subscribers:
            self._subscribers.remove(deliver)

    def new_event(self, name: str, origin: Origin, subclass: str | None = None) -> Event:
        """An event carrying the headers ``switch_event_prep_for_delivery`` adds."""
        event = Event(name=name, subclass=subclass)
        now = time.time()
        if subclass is not None:
            event.add("Event-Subclass", subclass)
        event.add("Event-Name", name)
        event.add("Core-UUID", self.core_uuid)
        event.add("FreeSWITCH-Hostname", self.hostname)
        event.add("FreeSWITCH-Switchname", self.hostname)
        event.add("FreeSWITCH-IPv4", self.ipv4)
        event.add("FreeSWITCH-IPv6", self.ipv6)
        event.add("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)))
        event.add("Event-Date-GMT", formatdate(now, usegmt=True))
        event.add("Event-Date-Timestamp", str(int(now * 1_000_000)))
        event.add("Event-Calling-File", origin[0])
        event.add("Event-Calling-Function", origin[1])
        event.add("Event-Calling-Line-Number", str(origin[2]))
        event.add("Event-Sequence", str(next(self._sequence)))
        return event

    def fire(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber; a failing subscriber never stops the others."""
        for deliver in list(self._subscribers):
            try:
                deliver(event)
            except Exception:
                logger.exception("event subscriber failed on %s uuid=%s", event.name, event.unique_id)
