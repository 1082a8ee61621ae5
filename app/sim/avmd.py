"""mod_avmd of FreeSWITCH 1.10.12 for the stand-in: the ``avmd`` API, the ``avmd_start``/``avmd_stop``
applications and the ``avmd::start`` / ``avmd::beep`` / ``avmd::stop`` events.

Read in ``src/mod/applications/mod_avmd/mod_avmd.c`` (v1.10.12, unchanged on master since):

- A session is a media bug on the channel's **read** direction (what the far end says) when the channel
  is outbound and ``outbound_channel`` is set (the default), on the write direction when it is inbound
  and ``inbound_channel`` is set (off by default: ``-ERR, can't set direction ...``).
- ``avmd_fire_event`` builds CUSTOM events with ``Unique-ID`` and ``Call-command: avmd`` and no channel
  data. ``avmd::beep`` carries ``Beep-Status: DETECTED``, ``Frequency``, ``Frequency-variance``,
  ``Amplitude``, ``Amplitude-variance`` (``%f``), ``Detection-time`` (µs since detection began) and the
  detector's ``Detector-resolution`` / ``-offset`` / ``-index``; the channel gets ``avmd_detect=TRUE``
  and ``avmd_total_time=[<ms>]``. After one beep the session stops analysing (``avmd_process`` returns
  at once once ``BEEP_DETECTED``): one ``avmd::beep`` per session, the bug stays until stopped.
- **The API's** ``avmd <uuid> start`` **never detects anything.** ``avmd_api_main`` neither copies the
  global settings into the session (``avmd_parse_cmd_data`` is only called by the application) nor
  launches the detector threads (``avmd_launch_threads``): the session has zero detectors, so it replies
  ``+OK ... started!``, fires ``avmd::start`` and then stays silent whatever it hears. Only the
  ``avmd_start`` application (e.g. ``sendmsg`` execute on an outbound socket) starts a working session.
- ``avmd <uuid> stop`` fires ``avmd::stop`` with ``Beep-Status: DETECTED`` whatever happened (it passes
  0, which is ``BEEP_DETECTED``), ``Stop-status: ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)``
  and a ``Total-time`` of minus the start time (the session's stop time is never set on that path).
  ``avmd_stop`` reports the real status and time.

Checked on a real FreeSWITCH 1.10.12 (docker/build-freeswitch.sh, this repository's configuration): the
replies above; an API-started session stayed silent over a 1 kHz beep; ``avmd_start`` run with
``sendmsg`` on an async outbound socket reported it 40 ms in (``Detection-time: 2040052`` for a beep 2 s
after the start), and each of that session's events came twice, the second copy with the channel's data.

The detector itself is :class:`app.sim.tone.ToneDetector` (a steady 440-2000 Hz tone for 100 ms), not
mod_avmd's DESA-2: the stand-in answers *whether* and roughly *when*, not with mod_avmd's exact timing.
``execute_on_avmd_beep`` is not run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from app.sim.args import separate_blank
from app.sim.audio_stream import switch_true
from app.sim.channel import Channel, PrivateMessage
from app.sim.events import Origin
from app.sim.tone import Tone, ToneDetector, ToneSettings
from app.sim.wav import Int16Array
from app.sim.wire import Event

if TYPE_CHECKING:
    from app.sim.session import Session
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

SYNTAX = "<uuid> < start | stop | set [inbound|outbound|default] | load [inbound|outbound] | reload | show >"
ORIGIN_AVMD: Origin = ("mod_avmd.c", "avmd_fire_event", 700)
EVENT_BEEP = "avmd::beep"
EVENT_START = "avmd::start"
EVENT_STOP = "avmd::stop"
# The application's dynamic parameters (avmd_parse_cmd_data_one_entry); only the directions matter here.
OPTIONS = frozenset(
    {
        "debug", "report_status", "fast_math", "require_continuous_streak", "sample_n_continuous_streak",
        "sample_n_to_skip", "require_continuous_streak_amp", "sample_n_continuous_streak_amp",
        "simplified_estimation", "inbound_channel", "outbound_channel", "detection_mode", "detectors_n",
        "detectors_lagged_n",
    }
)  # fmt: skip
SHOW_LINE = "=" * 97


@dataclass
class AvmdSettings:
    """The settings that decide where a session listens (the rest of mod_avmd's are shown as defaults)."""

    inbound_channel: bool = False
    outbound_channel: bool = True


def _now_us() -> int:
    return int(time.time() * 1_000_000)


class AvmdSession:
    """One channel's mod_avmd media bug (``_avmd_`` in the channel's private data)."""

    def __init__(
        self, module: Avmd, channel: Channel, *, read: bool, detecting: bool, tone: ToneSettings
    ) -> None:
        media = channel.media
        if media is None:
            raise RuntimeError(f"{channel.uuid}: no media to attach avmd to")
        self.module = module
        self.channel = channel
        self.media = media
        self.read = read
        """Listen to the read direction (the far end), else to what is written to the channel."""
        self.detecting = detecting
        """False for sessions the API started: they have no detectors (see the module docstring)."""
        self.start_us = _now_us()
        self.beep: Tone | None = None
        self._detector = ToneDetector(media.rate, tone)

    def attach(self) -> None:
        """Add the media bug: it sees every frame from the next tick on."""
        self.media.add_bug(self)

    def detach(self) -> None:
        """Remove the media bug (no close callback runs: the caller has already forgotten it)."""
        self.media.remove_bug(self)

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        """One frame from the media clock: look for the beep until one is found."""
        if not self.detecting or self.beep is not None:
            return
        frame = read if self.read else write
        if frame is None:
            frame = np.zeros(self.media.frame_samples, np.int16)
        tone = self._detector.feed(frame)
        if tone is None:
            return
        self.beep = tone
        detection_us = tone.detected_sample * 1_000_000 // self._detector.rate
        self.channel.set_var("avmd_total_time", f"[{detection_us // 1000}]")
        self.channel.set_var("avmd_detect", "TRUE")
        logger.info("%s avmd: beep of %.0f Hz detected", self.channel.uuid, tone.frequency)
        headers = [
            ("Beep-Status", "DETECTED"),
            ("Frequency", f"{tone.frequency:f}"),
            ("Frequency-variance", f"{tone.frequency_variance:f}"),
            ("Amplitude", f"{tone.amplitude:f}"),
            ("Amplitude-variance", f"{tone.amplitude_variance:f}"),
            ("Detection-time", str(detection_us)),
            ("Detector-resolution", "1"),
            ("Detector-offset", "0"),
            ("Detector-index", "0"),
        ]
        self.channel.spawn(partial(self.module.fire, self.channel, EVENT_BEEP, headers, queued=True))

    def on_media_close(self) -> None:
        """Hangup: the bug closes without an event (SWITCH_ABC_TYPE_CLOSE)."""
        self.module.forget(self)


class Avmd:
    """mod_avmd for one stand-in: its global settings and the sessions running on channels."""

    def __init__(self, switch: FakeSwitch, tone: ToneSettings | None = None) -> None:
        self.switch = switch
        self.settings = AvmdSettings()
        self.tone = tone or ToneSettings()
        self.sessions: dict[str, AvmdSession] = {}

    # ------------------------------------------------------------------ events
    def fire(self, channel: Channel, subclass: str, headers: list[tuple[str, str]], *, queued: bool) -> None:
        """``avmd_fire_event``: Unique-ID, Call-command and the event's own headers, no channel data.

        It also queues a copy to the session, which a parked session (the ``socket`` application in
        async mode, ``park``) fires again with the channel's data: on FreeSWITCH 1.10.12 a session the
        ``avmd_start`` application started delivers each of its events twice, the second copy with
        ``Channel-*`` and ``variable_*`` headers. Events of a session the API started came once.
        """
        if channel.destroyed.is_set():
            return
        copies = [self._event(channel, subclass, headers) for _ in range(2 if queued else 1)]
        self.switch.bus.fire(copies[0])
        if queued:
            channel.queue_message(PrivateMessage("event", event=copies[1]))

    def _event(self, channel: Channel, subclass: str, headers: list[tuple[str, str]]) -> Event:
        event = self.switch.bus.new_event("CUSTOM", ORIGIN_AVMD, subclass=subclass)
        event.add("Unique-ID", channel.uuid)
        event.add("Call-command", "avmd")
        for name, value in headers:
            event.add(name, value)
        return event

    def forget(self, session: AvmdSession) -> None:
        """The session's bug is gone (stop or hangup)."""
        if self.sessions.get(session.channel.uuid) is session:
            del self.sessions[session.channel.uuid]

    def _direction(self, channel: Channel, settings: AvmdSettings) -> bool | None:
        """True: the read direction, False: the write direction, None: this channel is not covered."""
        if channel.profile.direction == "outbound" and settings.outbound_channel:
            return True
        if channel.profile.direction == "inbound" and settings.inbound_channel:
            return False
        return None

    def _begin(self, channel: Channel, read: bool, *, detecting: bool) -> AvmdSession:
        session = AvmdSession(self, channel, read=read, detecting=detecting, tone=self.tone)
        self.sessions[channel.uuid] = session
        session.attach()
        start = [("Start-time", str(session.start_us))]
        channel.spawn(partial(self.fire, channel, EVENT_START, start, queued=detecting))
        return session

    # ------------------------------------------------------------------ API
    def api(self, arg: str) -> str:
        """``avmd <uuid> start|stop``, ``avmd set|load ...``, ``avmd reload``, ``avmd show``."""
        if not arg.strip():
            return f"-ERR, bad command!\n-USAGE: {SYNTAX}\n\n"
        argv = separate_blank(arg.strip(), 3)
        command = argv[0].lower()
        if command == "reload":
            self.settings = AvmdSettings()  # the stand-in's "XML" holds the defaults
            return "+OK\n XML reloaded\n\n"
        if command in ("load", "set"):
            return self._configure(command, argv)
        if command == "show":
            return self._show()
        return self._uuid_command(argv[0], argv[1].lower() if len(argv) > 1 else "")

    def _configure(self, command: str, argv: list[str]) -> str:
        if len(argv) != 2:
            return f"-ERR, {command} command takes 1 parameter!\n-USAGE: {SYNTAX}\n\n"
        which = argv[1].lower()
        if which in ("inbound", "outbound"):
            self.settings = AvmdSettings(
                inbound_channel=which == "inbound", outbound_channel=which == "outbound"
            )
            return f"+OK\n {which} XML configuration loaded\n\n"
        if command == "set" and which == "default":
            self.settings = AvmdSettings()
            return "+OK\n reset to factory settings\n\n"
        return f"-ERR, {command} command: bad syntax!\n-USAGE: {SYNTAX}\n\n"

    def _show(self) -> str:
        rows = [
            ("debug\t\t\t\t\t\t  ", 0), ("report status\t\t\t\t  ", 1), ("fast_math\t\t\t\t\t  ", 0),
            ("require continuous streak\t  ", 1), ("sample n continuous streak\t ", 3),
            ("sample n to skip\t\t\t   ", 0), ("require continuous streak amp  ", 1),
            ("sample n continuous streak amp ", 3), ("simplified estimation\t\t  ", 1),
            ("inbound channel\t\t\t\t", int(self.settings.inbound_channel)),
            ("outbound channel\t\t\t   ", int(self.settings.outbound_channel)),
            ("detection mode\t\t\t\t ", 2), ("sessions\t\t\t\t\t   ", sum(s.detecting for s in self.sessions.values())),
            ("detectors n\t\t\t\t\t", 36), ("detectors lagged n\t\t\t ", 1),
        ]  # fmt: skip
        body = "".join(f"{name}\t{value}\n" for name, value in rows)
        return f"\n\n{SHOW_LINE}\n\nAvmd global settings\n\n\n{body}\n\n+OK\n show\n\n"

    def _uuid_command(self, uuid: str, command: str) -> str:
        """``avmd <uuid> start|stop``, in ``avmd_api_main``'s order of checks.

        FreeSWITCH dereferences a missing command (``avmd <uuid>``) and crashes; here it is an unknown one.
        """
        channel = self.switch.find_channel(uuid)
        if channel is None or not channel.is_up:
            return f"-ERR, no FreeSWITCH session for uuid [{uuid}]!\n-USAGE: {SYNTAX}\n\n"
        running = self.sessions.get(channel.uuid)
        if running is not None:
            if command != "stop":
                return f"-ERR, avmd for FreeSWITCH session [{uuid}]\n already started\n\n"
            self.forget(running)
            running.detach()
            stop = [
                ("Beep-Status", "DETECTED"),
                ("Stop-status", "ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)"),
                ("Total-time", str(-running.start_us)),
            ]
            channel.spawn(partial(self.fire, channel, EVENT_STOP, stop, queued=False))
            return f"+OK\n [{uuid}] [{channel.name}] stopped\n\n"
        if command == "stop":
            return f"+ERR, avmd has not yet been started on\n [{uuid}] [{channel.name}]\n\n"
        not_started = f"+ERR\n [{uuid}] [{channel.name}] NOT started!\n\n"
        read = self._direction(channel, self.settings)
        if read is None:
            return (
                f"-ERR, can't set direction for channel [{channel.name}]\n for FreeSWITCH session [{uuid}]."
                f" Please check avmd configuration\n\n{not_started}"
            )
        if read and channel.media is None:
            return (
                f"-ERR, channel [{channel.name}] for FreeSWITCH session [{uuid}]\n has no read codec assigned"
                f" yet. Please try again.\n\n{not_started}"
            )
        if command != "start":
            return f"-ERR, did you mean\n api avmd {uuid} start ?\n-USAGE: {SYNTAX}\n\n"
        if channel.media is None:
            return f"-ERR, [{uuid}] failed to add media bug!\n\n{not_started}"
        self._begin(channel, read, detecting=False)
        return f"+OK\n [{uuid}] [{channel.name}] started!\n\n"

    # ------------------------------------------------------------------ applications
    def start_app(self, channel: Channel, arg: str) -> None:
        """``avmd_start [option=value,...]``: a session that detects (nothing happens when it cannot)."""
        if channel.uuid in self.sessions:
            logger.error("%s avmd_start: Avmd already started!", channel.uuid)
            return
        settings = AvmdSettings(self.settings.inbound_channel, self.settings.outbound_channel)
        for option in (part.strip() for part in arg.split(",") if part.strip()):
            key, equals, value = (piece.strip() for piece in option.partition("="))
            if not equals or not key or not value or key not in OPTIONS:
                logger.error("%s avmd_start: error parsing option [%s]; NOT started", channel.uuid, option)
                return
            if key in ("inbound_channel", "outbound_channel"):
                setattr(settings, key, switch_true(value))
        read = self._direction(channel, settings)
        if read is None:
            logger.error("%s avmd_start: can't set direction for channel [%s]", channel.uuid, channel.name)
            return
        if channel.media is None:
            logger.error("%s avmd_start: channel [%s] has no codec assigned yet", channel.uuid, channel.name)
            return
        self._begin(channel, read, detecting=True)
        logger.info("%s avmd on channel [%s] started", channel.uuid, channel.name)

    def stop_app(self, channel: Channel) -> None:
        """``avmd_stop``: ``avmd::stop`` with the session's real beep status and running time."""
        running = self.sessions.get(channel.uuid)
        if running is None:
            logger.error("%s avmd_stop: no avmd session running on this channel", channel.uuid)
            return
        stop_us = _now_us()
        status = "DETECTED" if running.beep is not None else "NOTDETECTED"
        stop = [("Beep-Status", status), ("Total-time", str(stop_us - running.start_us))]
        self.fire(channel, EVENT_STOP, stop, queued=True)
        self.forget(running)
        running.detach()


def avmd_start_app(session: Session, arg: str) -> None:
    """The ``avmd_start`` dialplan application."""
    session.switch.api.avmd.start_app(session.channel, arg)


def avmd_stop_app(session: Session, _arg: str) -> None:
    """The ``avmd_stop`` dialplan application."""
    session.switch.api.avmd.stop_app(session.channel)
