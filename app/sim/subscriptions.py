"""Which events an ESL listener receives: ``event``, ``nixevent``, ``myevents``, ``filter``.

A pure model of mod_event_socket's ``event_list`` / ``event_hash`` / filters and of its
``event_handler`` decision, so it can be tested without sockets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.sim.wire import Event

# switch_event_types_t names FreeSWITCH 1.10 knows (switch_event.c EVENT_NAMES).
EVENT_NAMES = frozenset(
    [
        "CUSTOM",
        "CLONE",
        "CHANNEL_CREATE",
        "CHANNEL_DESTROY",
        "CHANNEL_STATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_ANSWER",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_APPLICATION",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "API",
        "LOG",
        "INBOUND_CHAN",
        "OUTBOUND_CHAN",
        "STARTUP",
        "SHUTDOWN",
        "PUBLISH",
        "UNPUBLISH",
        "TALK",
        "NOTALK",
        "SESSION_CRASH",
        "MODULE_LOAD",
        "MODULE_UNLOAD",
        "DTMF",
        "MESSAGE",
        "PRESENCE_IN",
        "NOTIFY_IN",
        "PRESENCE_OUT",
        "PRESENCE_PROBE",
        "MESSAGE_WAITING",
        "MESSAGE_QUERY",
        "ROSTER",
        "CODEC",
        "BACKGROUND_JOB",
        "DETECTED_SPEECH",
        "DETECTED_TONE",
        "PRIVATE_COMMAND",
        "HEARTBEAT",
        "TRAP",
        "ADD_SCHEDULE",
        "DEL_SCHEDULE",
        "EXE_SCHEDULE",
        "RE_SCHEDULE",
        "RELOADXML",
        "NOTIFY",
        "PHONE_FEATURE",
        "PHONE_FEATURE_SUBSCRIBE",
        "SEND_MESSAGE",
        "RECV_MESSAGE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "GENERAL",
        "COMMAND",
        "SESSION_HEARTBEAT",
        "CLIENT_DISCONNECTED",
        "SERVER_DISCONNECTED",
        "SEND_INFO",
        "RECV_INFO",
        "RECV_RTCP_MESSAGE",
        "SEND_RTCP_MESSAGE",
        "CALL_SECURE",
        "NAT",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "FAILURE",
        "SOCKET_DATA",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CONFERENCE_DATA_QUERY",
        "CONFERENCE_DATA",
        "CALL_SETUP_REQ",
        "CALL_SETUP_RESULT",
        "CALL_DETAIL",
        "DEVICE_STATE",
        "TEXT",
        "SHUTDOWN_REQUESTED",
        "ALL",
    ]
)

# The channel events ``myevents`` subscribes to (mod_event_socket.c parse_command).
MYEVENTS_TYPES = frozenset(
    [
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    ]
)


def event_type(name: str) -> str | None:
    """``switch_name_event``: the canonical type for a (case-insensitive) name, or None."""
    upper = name.upper()
    return upper if upper in EVENT_NAMES else None


@dataclass
class Subscriptions:
    """One listener's subscription state."""

    enabled: bool = False
    types: set[str] = field(default_factory=set)
    subclasses: set[str] = field(default_factory=set)
    all_events: bool = False
    my_uuid: str | None = None
    filters: list[tuple[str, str]] = field(default_factory=list)

    def add_events(self, tokens: list[str]) -> int:
        """``event <tokens>``: returns how many event type keywords were recognised.

        After ``CUSTOM`` every token is a subclass name, even ``PLAYBACK_START`` (fact 4).
        """
        keys = 0
        custom = False
        for token in tokens:
            if not token:
                continue
            if custom:
                self.subclasses.add(token)
                continue
            kind = event_type(token)
            if kind is None:
                continue
            keys += 1
            if kind == "ALL":
                self.all_events = True
            self.types.add(kind)
            if kind == "CUSTOM":
                custom = True
        if keys:
            self.enabled = True
        return keys

    def remove_events(self, tokens: list[str]) -> int:
        """``nixevent <tokens>``: returns how many keywords were recognised."""
        keys = 0
        custom = False
        for token in tokens:
            if not token:
                continue
            if custom:
                self.subclasses.discard(token)
                continue
            kind = event_type(token)
            if kind is None:
                continue
            keys += 1
            if kind == "CUSTOM":
                custom = True
            elif kind == "ALL":
                self.all_events = False
                self.types.clear()
            else:
                if self.all_events:
                    self.all_events = False
                    self.types = set(EVENT_NAMES) - {"ALL"}
                self.types.discard(kind)
        if keys:
            self.enabled = True
        return keys

    def clear(self) -> None:
        """``noevents``."""
        self.enabled = False
        self.types.clear()
        self.subclasses.clear()
        self.all_events = False

    def enable_myevents(self, session_uuid: str) -> None:
        """``myevents``: this channel's events only."""
        self.types |= MYEVENTS_TYPES
        self.my_uuid = session_uuid
        self.enabled = True

    def wants(self, event: Event) -> bool:
        """mod_event_socket's event_handler decision for this listener."""
        if not self.enabled:
            return False
        if self.all_events:
            send = True
        elif event.name in self.types:
            send = event.name != "CUSTOM" or not event.subclass or event.subclass in self.subclasses
        else:
            send = False
        if send and self.filters:
            send = self._passes_filters(event)
        if send and self.my_uuid is not None:
            send = event.unique_id == self.my_uuid or event.get("Job-Owner-UUID") == self.my_uuid
        return send

    def _passes_filters(self, event: Event) -> bool:
        send = False
        for header, raw in self.filters:
            value = event.get(header)
            if value is None:
                continue
            positive = True
            compare = raw
            while compare and compare[0] in "+- ":
                if compare[0] == "+":
                    positive = True
                elif compare[0] == "-":
                    positive = False
                compare = compare[1:]
            if send and positive:
                continue
            if raw.startswith("/"):
                pattern = compare.strip("/")
                matched = re.search(pattern, value) is not None
            else:
                matched = value.lower() == compare.lower()
            if matched:
                if not positive:
                    return False
                send = True
        return send
