"""The session greenlet of a channel: runs its dialplan applications, parks, obeys sendmsg.

Mirrors switch_core_session_exec (CHANNEL_EXECUTE / _COMPLETE around every application),
switch_ivr_park (CHANNEL_PARK / UNPARK, private events processed while parked) and
switch_ivr_parse_event (``execute`` with loops, ``hangup`` with a cause).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from app.sim.apps import APPLICATIONS
from app.sim.channel import Channel, PrivateMessage
from app.sim.events import Origin

if TYPE_CHECKING:
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

ORIGIN_EXECUTE: Origin = ("switch_core_session.c", "switch_core_session_exec", 2944)
ORIGIN_EXECUTE_COMPLETE: Origin = ("switch_core_session.c", "switch_core_session_exec", 2967)
ORIGIN_PARK: Origin = ("switch_ivr.c", "switch_ivr_park", 1002)
ORIGIN_UNPARK: Origin = ("switch_ivr.c", "switch_ivr_park", 1213)

MAX_ENDLESS_LOOPS = 1000
# FreeSWITCH's state machine thread takes ~20 ms from CHANNEL_HANGUP to CHANNEL_HANGUP_COMPLETE
# (inbound-esl.txt); keeping that gap keeps replies to back-to-back commands ahead of it.
REPORT_DELAY_SECONDS = 0.02
Application = Callable[["Session", str], None]
DialplanApps = list[tuple[str, str]]


class Session:
    """Runs one channel's applications in a greenlet, like a FreeSWITCH session thread."""

    def __init__(
        self, switch: FakeSwitch, channel: Channel, apps: DialplanApps, *, created: bool = False
    ) -> None:
        self.switch = switch
        self.channel = channel
        self.apps = list(apps)
        self.created = created
        self.park_released = False
        self.reported = gevent.event.Event()
        self.greenlet: gevent.Greenlet[[], None] | None = None

    def start(self) -> None:
        """Start the session greenlet."""
        self.greenlet = gevent.spawn(self.run)

    def run(self) -> None:
        """CREATE, route, run the applications, then hang up and report."""
        channel = self.channel
        try:
            if not self.created:
                channel.create()
                channel.set_state("CS_ROUTING")
            channel.set_state("CS_EXECUTE")
            self.run_apps(self.apps)
            while channel.is_up and channel.pending_transfer is not None:
                self.follow_transfer()
            if channel.is_up:
                channel.hangup("NORMAL_CLEARING")
        except Exception:
            logger.exception("%s session failed", channel.uuid)
            channel.hangup("NORMAL_TEMPORARY_FAILURE")
        finally:
            gevent.sleep(REPORT_DELAY_SECONDS)
            channel.report()
            self.reported.set()
            channel.destroy()
            self.switch.channel_gone(channel)

    def run_apps(self, apps: DialplanApps) -> None:
        """Execute applications in order, handling private events between them."""
        for app, arg in apps:
            if not self.channel.is_up or self.channel.pending_transfer is not None:
                return
            self.execute(app, arg)
            self.drain_messages()

    def follow_transfer(self) -> None:
        """Continue in the extension a ``uuid_transfer`` named, or hang up NO_ROUTE_DESTINATION."""
        assert self.channel.pending_transfer is not None
        destination, context = self.channel.pending_transfer
        self.channel.pending_transfer = None
        self.park_released = False
        apps = self.switch.dialplan.find(context, destination)
        if apps is None:
            logger.info("%s transfer to %s@%s: no route", self.channel.uuid, destination, context)
            self.channel.hangup("NO_ROUTE_DESTINATION")
            return
        self.channel.profile.destination_number = destination
        self.channel.profile.context = context
        self.run_apps(apps)

    def execute(self, app: str, arg: str | None) -> bool:
        """switch_core_session_execute_application: events around the app; unknown app hangs up."""
        channel = self.channel
        name = app.strip().lower()
        func = APPLICATIONS.get(name)
        if func is None:
            logger.warning("%s Invalid Application %s", channel.uuid, app)
            channel.hangup("DESTINATION_OUT_OF_ORDER")
            return False
        if not channel.is_up and name not in ("hangup",):
            return False
        data = arg if arg else None
        app_uuid = str(uuid.uuid4())
        channel.set_var("current_application", name)
        channel.set_var("current_application_data", data)
        channel.set_var("current_application_response", None)
        channel.fire(
            "CHANNEL_EXECUTE",
            ORIGIN_EXECUTE,
            after=[("Application", name), ("Application-Data", data), ("Application-UUID", app_uuid)],
        )
        try:
            func(self, arg or "")
        except Exception:
            logger.exception("%s application %s failed", channel.uuid, name)
        response = channel.get_var("current_application_response") or "_none_"
        channel.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            ORIGIN_EXECUTE_COMPLETE,
            after=[
                ("Application", name),
                ("Application-Data", data),
                ("Application-Response", response),
                ("Application-UUID", app_uuid),
            ],
        )
        return True

    def park(self) -> None:
        """switch_ivr_park: wait, serving private events, until hangup, transfer or release."""
        channel = self.channel
        expires, timeout_cause = self._take_park_timeout()
        channel.fire("CHANNEL_PARK", ORIGIN_PARK)
        while channel.is_up and channel.pending_transfer is None and not self.park_released:
            if self._parked_message_ready():
                self.handle(channel.messages.get_nowait())
                continue
            if expires is not None and time.monotonic() >= expires:
                logger.info("%s park_timeout: hanging up %s", channel.uuid, timeout_cause)
                channel.hangup(timeout_cause)
                break
            channel.wakeup.clear()
            if not self._parked_message_ready() and channel.is_up and not self.park_released:
                channel.wakeup.wait(None if expires is None else max(0.0, expires - time.monotonic()))
        self.drain_messages()
        channel.fire("CHANNEL_UNPARK", ORIGIN_UNPARK)

    def _parked_message_ready(self) -> bool:
        """A message is queued and the park loop is turning: it runs between frames read from the caller,
        and that read waits while no RTP arrives (tests/realswitch/test_no_rtp.py)."""
        media = self.channel.media
        rtp_stopped = media is not None and not media.stopped and not media.rtp_arriving
        return not self.channel.messages.empty() and not rtp_stopped

    def _take_park_timeout(self) -> tuple[float | None, str]:
        """switch_ivr_park reads ``park_timeout`` (``<seconds>[:<cause>]``) once and unsets it.

        So a ``park_timeout`` set before ``socket ... async`` is spent by the socket application's own
        park: the dialplan sets it after ``socket``, before the ``park`` that keeps an unclaimed call.
        """
        text = self.channel.get_var("park_timeout")
        if text is None:
            return None, "NORMAL_CLEARING"
        self.channel.set_var("park_timeout", None)
        seconds_text, _, cause = text.partition(":")
        match = re.match(r"\s*([+-]?[0-9]+)", seconds_text)  # atoi
        seconds = int(match.group(1)) if match else 0
        if seconds < 0:
            return None, "NORMAL_CLEARING"
        return time.monotonic() + seconds, cause.strip() or "NORMAL_CLEARING"

    def release_park(self) -> None:
        """The controlling socket is gone (CF_CONTROLLED cleared): a park returns."""
        self.park_released = True
        self.channel.wakeup.set()

    def drain_messages(self) -> None:
        """switch_ivr_parse_all_events: run everything queued, in order."""
        while not self.channel.messages.empty() and self.channel.is_up:
            self.handle(self.channel.messages.get_nowait())

    def handle(self, message: PrivateMessage) -> None:
        """switch_ivr_parse_event for one private event."""
        channel = self.channel
        if message.command == "hangup":
            channel.hangup(message.cause)
            return
        if message.command == "event":
            if message.event is not None:
                # switch_ivr_park: a queued session event goes out again, with the channel's data
                message.event.headers += [row for row in channel.data_headers() if row[0] != "Unique-ID"]
                channel.bus.fire(message.event)
            return
        if message.command != "execute" or not message.app:
            logger.info("%s ignoring call-command %r", channel.uuid, message.command)
            return
        media = channel.media
        if message.lead_frames > 0 and media is not None and not media.stopped:
            media.wait_frames(media.frames_elapsed + message.lead_frames, timeout=message.lead_frames * 0.1)
        loops = message.loops
        iteration = 0
        while iteration < loops or (loops < 0 and iteration < MAX_ENDLESS_LOOPS):
            channel.set_var("current_loop", str(iteration + 1))
            channel.set_var("total_loops", str(loops))
            if not self.execute(message.app, message.arg) or not channel.is_up:
                break
            iteration += 1
        channel.set_var("current_loop", None)
        channel.set_var("total_loops", None)
