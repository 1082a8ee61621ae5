"""One simulated channel: its state, variables, caller profile, and the events it fires.

The order of states, headers and events follows FreeSWITCH 1.10 (switch_channel.c,
switch_core_state_machine.c) as observed in the shared fixtures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import gevent.queue

from app.sim.cdr import cdr_variables
from app.sim.events import EventBus, Origin
from app.sim.media import ChannelMedia, LineEcho
from app.sim.playback import Playback
from app.sim.profile import Q850_CODES, STATE_NUMBERS, CallerProfile, Codec, codec_for_rate
from app.sim.wire import Event, HeaderValue

logger = logging.getLogger(__name__)

ORIGIN_CREATE: Origin = ("switch_core_state_machine.c", "switch_core_session_run", 626)
ORIGIN_STATE: Origin = ("switch_channel.c", "switch_channel_perform_set_running_state", 2408)
ORIGIN_PROGRESS: Origin = ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3475)
ORIGIN_PROGRESS_MEDIA: Origin = ("switch_channel.c", "switch_channel_perform_mark_pre_answered", 3560)
ORIGIN_ANSWER: Origin = ("switch_channel.c", "switch_channel_perform_mark_answered", 3846)
ORIGIN_HANGUP: Origin = ("switch_channel.c", "switch_channel_perform_hangup", 3445)
ORIGIN_HANGUP_COMPLETE: Origin = ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943)
ORIGIN_DESTROY: Origin = ("switch_core_session.c", "switch_core_session_perform_destroy", 1606)
ORIGIN_DTMF: Origin = ("switch_channel.c", "switch_channel_dequeue_dtmf", 677)
ORIGIN_AUDIO_STREAM: Origin = ("mod_audio_stream.c", "responseHandler", 16)


HeaderRows = list[tuple[str, HeaderValue | None]]


@dataclass
class PrivateMessage:
    """A command queued to the channel's session (``sendmsg``, ``uuid_broadcast``)."""

    command: str
    app: str = ""
    arg: str | None = None
    loops: int = 1
    cause: str = "NORMAL_CLEARING"
    lead_frames: int = 0
    """Media frames read before the command runs (``uuid_broadcast`` asks for 5: switch_ivr_broadcast)."""
    event: Event | None = None
    """``command="event"``: an event a module queued to the session (switch_core_session_queue_event).
    A parked session fires it again with the channel's data (switch_ivr_park); ``uuid_break`` keeps it."""


def now_us() -> int:
    """Wall-clock microseconds, the unit of FreeSWITCH's *-Time headers."""
    return int(time.time() * 1_000_000)


class Channel:
    """Per-call state and event emission; the dialplan runs in :class:`app.sim.session.Session`."""

    def __init__(
        self,
        bus: EventBus,
        profile: CallerProfile,
        *,
        kind: str,
        rate: int,
        caller_audio: Path | None,
        recording_path: Path | None,
        hit_dialplan: bool,
        line_echo: LineEcho | None = None,
    ) -> None:
        self.bus = bus
        self.profile = profile
        self.kind = kind
        self.rate = rate
        self.caller_audio = caller_audio
        self.recording_path = recording_path
        self.hit_dialplan = hit_dialplan
        self.line_echo = line_echo
        """The echo of the caller's line, mixed into the read direction (None: a clean line)."""
        self.rtp_ends_with_audio = False
        self.state = "CS_NEW"
        self.call_state = "DOWN"
        self.answer_state = "ringing"
        self.hangup_cause: str | None = None
        self.codec: Codec | None = codec_for_rate(rate, loopback=True) if kind == "loopback" else None
        self.variables: dict[str, HeaderValue] = {}
        self.media: ChannelMedia | None = None
        self.playback: Playback | None = None
        self.audio_fork: Any = None
        self.messages: gevent.queue.Queue[PrivateMessage] = gevent.queue.Queue()
        self.wakeup = gevent.event.Event()
        self.answered = gevent.event.Event()
        self.hung_up = gevent.event.Event()
        self.reported = gevent.event.Event()
        self.destroyed = gevent.event.Event()
        self.controllers = 0
        self.controllers_done = gevent.event.Event()
        self.controllers_done.set()
        self.pending_transfer: tuple[str, str] | None = None
        self.transfers: list[str] = []
        self.played_files: list[str] = []
        self.sent_dtmf: list[str] = []
        self.digits_dialed = ""
        self.peer_answer: Callable[[], None] | None = None
        """Loopback: answering the B leg answers the A leg first."""

    @property
    def uuid(self) -> str:
        """The channel's Unique-ID."""
        return self.profile.uuid

    @property
    def name(self) -> str:
        """The channel name (``sofia/internal/...``, ``loopback/9998-a``)."""
        return self.profile.channel_name

    @property
    def is_up(self) -> bool:
        """True until the channel hangs up (``switch_channel_ready``)."""
        return not self.hung_up.is_set()

    # ----------------------------------------------------------------- variables
    def set_var(self, name: str, value: HeaderValue | None) -> None:
        """Set (moves it last, like FreeSWITCH's unique headers) or unset a channel variable."""
        self.variables.pop(name, None)
        if value is not None and value != "":
            self.variables[name] = value

    def get_var(self, name: str) -> str | None:
        """A variable as text (arrays rendered ``ARRAY::a|:b``), or None."""
        value = self.variables.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else "ARRAY::" + "|:".join(value)

    # ----------------------------------------------------------------- events
    def basic_headers(self) -> list[tuple[str, HeaderValue]]:
        """``switch_channel_event_set_basic_data``."""
        number = STATE_NUMBERS[self.state]
        if self.state == "CS_INIT":
            number = STATE_NUMBERS["CS_ROUTING"]
        rows: list[tuple[str, HeaderValue]] = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.profile.direction),
            ("Presence-Call-Direction", self.profile.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
        ]
        presence = self.get_var("presence_id")
        if presence:
            rows.append(("Channel-Presence-ID", presence))
        rows.append(("Channel-Call-UUID", self.uuid))
        rows.append(("Answer-State", self.answer_state))
        if self.hangup_cause:
            rows.append(("Hangup-Cause", self.hangup_cause))
        if self.codec is not None:
            for side in ("Read", "Write"):
                rows.append((f"Channel-{side}-Codec-Name", self.codec.name))
                rows.append((f"Channel-{side}-Codec-Rate", str(self.codec.rate)))
                rows.append((f"Channel-{side}-Codec-Bit-Rate", str(self.codec.bit_rate)))
        return rows

    def data_headers(self, *, variables: bool = True) -> list[tuple[str, HeaderValue]]:
        """``switch_channel_event_set_data`` (basic data, caller profile, ``variable_*``)."""
        rows = self.basic_headers() + self.profile.headers("Caller")
        if variables:
            rows += [(f"variable_{name}", value) for name, value in self.variables.items()]
        return rows

    def new_event(
        self,
        name: str,
        origin: Origin,
        *,
        before: HeaderRows | None = None,
        after: HeaderRows | None = None,
        variables: bool = True,
        subclass: str | None = None,
        body: str | None = None,
    ) -> Event:
        """An event about this channel (headers in FreeSWITCH's order)."""
        event = self.bus.new_event(name, origin, subclass=subclass)
        event.headers += [(key, value) for key, value in before or [] if value is not None]
        event.headers += self.data_headers(variables=variables)
        event.headers += [(key, value) for key, value in after or [] if value is not None]
        event.body = body
        return event

    def fire(
        self,
        name: str,
        origin: Origin,
        *,
        before: HeaderRows | None = None,
        after: HeaderRows | None = None,
        variables: bool = True,
        subclass: str | None = None,
        body: str | None = None,
    ) -> None:
        """Create and fire an event about this channel."""
        event = self.new_event(
            name, origin, before=before, after=after, variables=variables, subclass=subclass, body=body
        )
        self.bus.fire(event)

    def fire_custom(self, subclass: str, body: str) -> None:
        """Fire ``CUSTOM <subclass>`` with this channel's data (mod_audio_stream's events)."""
        if self.destroyed.is_set():
            return
        self.fire("CUSTOM", ORIGIN_AUDIO_STREAM, subclass=subclass, body=body)

    def set_state(self, state: str) -> None:
        """Enter a running state and fire CHANNEL_STATE (without variables, as FreeSWITCH does)."""
        self.state = state
        self.fire("CHANNEL_STATE", ORIGIN_STATE, variables=False)

    def create(self) -> None:
        """CS_INIT: fire CHANNEL_CREATE."""
        self.profile.created_us = self.profile.created_us or now_us()
        self.state = "CS_INIT"
        self.fire("CHANNEL_CREATE", ORIGIN_CREATE)

    # ----------------------------------------------------------------- call progress
    def ring(self) -> None:
        """The far end rings (180): CHANNEL_PROGRESS."""
        if self.profile.progress_us or not self.is_up:
            return
        self.profile.progress_us = now_us()
        self.call_state = "RINGING"
        self.fire("CHANNEL_PROGRESS", ORIGIN_PROGRESS)

    def pre_answer(self) -> None:
        """Early media (183): codec up, media starts, CHANNEL_PROGRESS_MEDIA."""
        if self.answer_state in ("early", "answered") or not self.is_up:
            return
        self.profile.progress_media_us = now_us()
        self._media_up()
        self.answer_state = "early"
        self.fire("CHANNEL_PROGRESS_MEDIA", ORIGIN_PROGRESS_MEDIA)
        self.call_state = "EARLY"

    def answer(self) -> None:
        """Answer (200 OK): CHANNEL_ANSWER; a sofia inbound leg pre-answers first."""
        if self.answer_state == "answered" or not self.is_up:
            return
        if self.kind == "sofia" and self.profile.direction == "inbound":
            self.pre_answer()
        if self.peer_answer is not None:
            self.peer_answer()
        self._media_up()
        self.profile.answered_us = now_us()
        self.answer_state = "answered"
        self.set_var("endpoint_disposition", "ANSWER")
        self.fire("CHANNEL_ANSWER", ORIGIN_ANSWER)
        self.call_state = "ACTIVE"
        self.answered.set()
        logger.info("%s answered", self.uuid)

    def _media_up(self) -> None:
        if self.codec is None:
            self.codec = codec_for_rate(self.rate)
        for name, value in (
            ("read_codec", self.codec.name),
            ("original_read_codec", self.codec.name),
            ("read_rate", str(self.codec.rate)),
            ("original_read_rate", str(self.codec.rate)),
            ("write_codec", self.codec.name),
            ("write_rate", str(self.codec.rate)),
        ):
            if name not in self.variables:
                self.set_var(name, value)
        if self.media is None:
            self.media = ChannelMedia(
                uuid=self.uuid,
                rate=self.rate,
                caller_audio=self.caller_audio,
                recording_path=self.recording_path,
                echo=self.line_echo,
                rtp_ends_with_audio=self.rtp_ends_with_audio,
            )
            self.media.start()

    def receive_dtmf(self, digit: str, duration: int = 2240) -> None:
        """The caller pressed a key (RFC 2833): DTMF event, ``digits_dialed`` grows."""
        if not self.is_up:
            return
        self.digits_dialed += digit
        self.set_var("digits_dialed", self.digits_dialed)
        self.fire(
            "DTMF",
            ORIGIN_DTMF,
            variables=False,
            after=[("DTMF-Digit", digit), ("DTMF-Duration", str(duration)), ("DTMF-Source", "RTP")],
        )

    # ----------------------------------------------------------------- hangup
    def hangup(self, cause: str = "NORMAL_CLEARING") -> bool:
        """Hang up now: CHANNEL_HANGUP, media stops, blocking applications return. False if already down."""
        if self.hung_up.is_set():
            return False
        cause = cause.upper() if cause.upper() in Q850_CODES else "NORMAL_CLEARING"
        self.profile.hangup_us = now_us()
        self.hangup_cause = cause
        self.answer_state = "hangup"
        self.set_var("hangup_cause", cause)
        self.set_var("hangup_cause_q850", str(Q850_CODES[cause]))
        self.hung_up.set()
        self.fire("CHANNEL_HANGUP", ORIGIN_HANGUP)
        logger.info("%s hangup cause=%s", self.uuid, cause)
        if self.playback is not None:
            self.playback.stop()
        if self.audio_fork is not None:
            fork, self.audio_fork = self.audio_fork, None
            try:
                fork.on_hangup()
            except Exception:
                logger.exception("%s audio stream fork failed on hangup", self.uuid)
        if self.media is not None:
            self.media.stop()
        self.wakeup.set()
        return True

    def report(self) -> None:
        """CS_HANGUP -> CS_REPORTING -> CHANNEL_HANGUP_COMPLETE with the CDR variables."""
        self.set_state("CS_HANGUP")
        self.call_state = "HANGUP"
        self.state = "CS_REPORTING"
        for name, value in cdr_variables(self.profile, now_us(), self.get_var("current_application")).items():
            self.set_var(name, value)
        self.fire("CHANNEL_STATE", ORIGIN_STATE, variables=False)
        self.fire(
            "CHANNEL_HANGUP_COMPLETE",
            ORIGIN_HANGUP_COMPLETE,
            before=[("Hangup-Cause", self.hangup_cause or "NORMAL_CLEARING")],
        )
        self.reported.set()

    def destroy(self) -> None:
        """CS_DESTROY once no socket controls the channel any more: CHANNEL_DESTROY."""
        self.controllers_done.wait()
        self.state = "CS_DESTROY"
        self.fire("CHANNEL_DESTROY", ORIGIN_DESTROY)
        self.destroyed.set()

    # ----------------------------------------------------------------- control
    def queue_message(self, message: PrivateMessage) -> None:
        """Queue a private event for the session (FIFO), and wake a parked session."""
        self.messages.put(message)
        self.wakeup.set()

    def flush_messages(self) -> int:
        """Drop every queued private event (``uuid_break all``); returns how many.

        Queued session events (``command="event"``) are another queue in FreeSWITCH: they stay.
        """
        dropped = 0
        kept: list[PrivateMessage] = []
        while not self.messages.empty():
            message = self.messages.get_nowait()
            if message.command == "event":
                kept.append(message)
            else:
                dropped += 1
        for message in kept:
            self.messages.put(message)
        return dropped

    def acquire_controller(self) -> None:
        """A socket listener holds the session (delays CS_DESTROY)."""
        self.controllers += 1
        self.controllers_done.clear()

    def release_controller(self) -> None:
        """The socket listener is finished with the session."""
        self.controllers = max(0, self.controllers - 1)
        if self.controllers == 0:
            self.controllers_done.set()

    def request_transfer(self, destination: str, context: str) -> None:
        """``uuid_transfer``: interrupt what runs now and continue in another extension."""
        self.transfers.append(destination)
        self.pending_transfer = (destination, context)
        self.profile.transfer_us = now_us()
        if self.playback is not None:
            self.playback.stop()
        self.wakeup.set()

    def spawn(self, func: Any, *args: Any) -> gevent.Greenlet[Any, Any]:
        """Run ``func`` in its own greenlet (what FreeSWITCH does from another thread)."""
        return gevent.spawn(func, *args)
