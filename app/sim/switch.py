"""FakeSwitch: a FreeSWITCH 1.10.12 stand-in speaking the real Event Socket protocol.

It runs an inbound ESL server (gevent, real TCP), places simulated inbound calls whose dialplan
can run the ``socket`` application (connecting out to a controller), originates outbound calls
whose far end is decided by test hooks, and plays audio in real time through ``ChannelMedia``.
A ``LineEcho`` makes phone lines (sofia channels) echo what is played to them back to us.

Typical use::

    with FakeSwitch(password="secret") as switch:
        call = switch.place_call(destination="1000", socket=f"127.0.0.1:{port} async full")
        assert call.wait_answered(5)
        call.hangup()
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import uuid as uuid_module
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import gevent
from gevent import socket
from gevent.server import StreamServer

from app.sim.api import Api
from app.sim.channel import Channel
from app.sim.events import EventBus
from app.sim.listener import Listener
from app.sim.loopback import Loopback
from app.sim.media import ChannelMedia, LineEcho
from app.sim.originate import Endpoint, Originator
from app.sim.profile import CallerProfile
from app.sim.session import DialplanApps, Session

logger = logging.getLogger(__name__)

_CALL_IDS = itertools.count(1)

__all__ = ["Dialplan", "Endpoint", "FakeSwitch", "LineEcho", "SimCall"]


class Dialplan:
    """Extensions per context: a regex on the destination number and a list of applications."""

    def __init__(self) -> None:
        self.extensions: list[tuple[str, re.Pattern[str], DialplanApps]] = []

    def add(self, context: str, pattern: str, apps: DialplanApps) -> None:
        """Add an extension; earlier extensions win."""
        self.extensions.append((context, re.compile(pattern), list(apps)))

    def find(self, context: str, destination: str) -> DialplanApps | None:
        """The applications for ``destination`` in ``context``, or None (no route)."""
        for ext_context, pattern, apps in self.extensions:
            if ext_context == context and pattern.search(destination):
                return list(apps)
        return None


class SimCall:
    """Test-facing handle of one simulated call (a channel of the stand-in)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    @property
    def uuid(self) -> str:
        """The channel uuid."""
        return self.channel.uuid

    @property
    def variables(self) -> dict[str, str]:
        """A snapshot of the channel variables."""
        return {name: self.channel.get_var(name) or "" for name in self.channel.variables}

    @property
    def answered(self) -> gevent.event.Event:
        """Set when the call is answered."""
        return self.channel.answered

    @property
    def ended(self) -> gevent.event.Event:
        """Set once CHANNEL_HANGUP_COMPLETE has been fired."""
        return self.channel.reported

    @property
    def destroyed(self) -> gevent.event.Event:
        """Set at CHANNEL_DESTROY (after a lingering controller has let go)."""
        return self.channel.destroyed

    @property
    def hung_up(self) -> gevent.event.Event:
        """Set at hangup (CHANNEL_HANGUP)."""
        return self.channel.hung_up

    @property
    def media_clock_error_ms(self) -> float:
        """How far the stand-in's media clock fell behind the wall clock (0 before media started)."""
        media = self.channel.media
        return 0.0 if media is None else media.clock_error_ms

    def wait_answered(self, timeout: float) -> bool:
        """Wait for the answer; False on timeout."""
        return bool(self.channel.answered.wait(timeout))

    def wait_ended(self, timeout: float) -> bool:
        """Wait for CHANNEL_HANGUP_COMPLETE; False on timeout."""
        return bool(self.channel.reported.wait(timeout))

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The caller hangs up (a BYE from the far end)."""
        self.channel.spawn(self.channel.hangup, cause)

    def stop_rtp(self) -> None:
        """The caller's RTP stops (the call must be answered): a parked channel stops running what is queued."""
        self._answered_media().stop_rtp()

    def resume_rtp(self) -> None:
        """The caller's RTP comes back: what was queued meanwhile runs, in order."""
        self._answered_media().resume_rtp()
        self.channel.wakeup.set()

    def _answered_media(self) -> ChannelMedia:
        media = self.channel.media
        if media is None:
            raise RuntimeError(f"{self.uuid}: no media yet (not answered)")
        return media

    def send_dtmf(self, digits: str, duration: int = 2240) -> None:
        """The caller presses keys (RFC 2833): one DTMF event per digit."""
        for digit in digits:
            self.channel.receive_dtmf(digit, duration)

    @property
    def hangup_cause(self) -> str | None:
        """The hangup cause once the call has ended."""
        return self.channel.hangup_cause

    @property
    def recording_path(self) -> Path | None:
        """The stereo recording (left: caller, right: what was played), written at hangup."""
        return self.channel.recording_path

    @property
    def transfers(self) -> list[str]:
        """Destinations of ``uuid_transfer`` commands, in order."""
        return list(self.channel.transfers)

    @property
    def played_files(self) -> list[str]:
        """Files played to the caller, in order."""
        return list(self.channel.played_files)

    @property
    def sent_dtmf(self) -> list[str]:
        """Digits sent toward the caller with ``uuid_send_dtmf``."""
        return list(self.channel.sent_dtmf)


class FakeSwitch:
    """The stand-in: an inbound ESL server plus simulated channels."""

    def __init__(
        self,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        recordings_dir: Path | None = None,
        gateways: Iterable[str] = ("twilio", "vonage"),
        line_echo: LineEcho | None = None,
    ) -> None:
        self.password = password
        self.host = host
        self.port = port
        self.recordings_dir = recordings_dir
        self.gateways = set(gateways)
        self.line_echo = line_echo
        """The echo of every phone line (sofia channels: inbound and originated) unless a call sets its own."""
        self.bus = EventBus()
        self.dialplan = Dialplan()
        self.dialplan.add("default", r"^9998$", [("answer", ""), ("park", "")])
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, SimCall] = {}
        self.endpoints: list[tuple[re.Pattern[str], Endpoint]] = []
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self.originator = Originator(self)
        self.loopback = Loopback(self)
        self.api = Api(self)
        self._server: StreamServer | None = None
        self.listeners: list[Listener] = []
        """Open ESL connections, inbound and outbound (closed by ``stop``)."""
        self._inbound: set[Listener] = set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start listening for inbound ESL connections."""
        self._server = StreamServer((self.host, self.port), self._serve_inbound)
        self._server.start()
        logger.info("FakeSwitch ESL listening on %s:%d", self.host, self.esl_port)

    def stop(self) -> None:
        """Hang up every call, close every connection, stop the server."""
        for channel in list(self.channels.values()):
            channel.hangup("NORMAL_CLEARING")
        for listener in list(self.listeners):
            listener.close(goodbye=False)
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

    @property
    def esl_port(self) -> int:
        """The bound inbound ESL port."""
        if self._server is None:
            raise RuntimeError("FakeSwitch is not started")
        return int(self._server.server_port)

    def __enter__(self) -> FakeSwitch:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def drop_inbound_connections(self) -> int:
        """Close every inbound ESL connection at once (a network blip, ``reload mod_event_socket``): the
        calls go on, and so does the listening socket. Returns how many were closed."""
        dropped = list(self._inbound)
        for listener in dropped:
            listener.close(goodbye=False)
        return len(dropped)

    def _serve_inbound(self, sock: socket.socket, address: tuple[str, int]) -> None:
        logger.info("inbound ESL connection from %s:%d", address[0], address[1])
        listener = Listener(self, sock)
        self.listeners.append(listener)
        self._inbound.add(listener)
        try:
            listener.serve()
        finally:
            self._inbound.discard(listener)
            self.listeners.remove(listener)

    # ------------------------------------------------------------------ channels
    def new_channel(
        self,
        profile: CallerProfile,
        *,
        kind: str,
        rate: int,
        caller_audio: Path | None,
        hit_dialplan: bool,
        line_echo: LineEcho | None = None,
    ) -> Channel:
        """Create and register a channel (no events yet).

        Without ``line_echo``, a sofia channel gets the switch's ``line_echo``; other kinds none.
        """
        recording = self.recordings_dir / f"{profile.uuid}.wav" if self.recordings_dir else None
        if line_echo is None and kind == "sofia":
            line_echo = self.line_echo
        channel = Channel(
            self.bus,
            profile,
            kind=kind,
            rate=rate,
            caller_audio=caller_audio,
            recording_path=recording,
            hit_dialplan=hit_dialplan,
            line_echo=line_echo,
        )
        self.channels[channel.uuid] = channel
        self.calls[channel.uuid] = SimCall(channel)
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        return channel

    def channel_gone(self, channel: Channel) -> None:
        """The channel is destroyed: it no longer answers to API commands."""
        self.channels.pop(channel.uuid, None)

    def find_channel(self, uuid: str) -> Channel | None:
        """A live (not yet destroyed) channel by uuid."""
        return self.channels.get(uuid.strip())

    def find_call(self, uuid: str) -> SimCall | None:
        """Any call the switch has seen (including ended and originated ones) by uuid."""
        return self.calls.get(uuid.strip())

    # ------------------------------------------------------------------ test hooks
    def add_endpoint(self, pattern: str, behaviour: Endpoint) -> None:
        """Decide what the far end of matching dial strings does (regex, first match wins)."""
        self.endpoints.append((re.compile(pattern), behaviour))

    def add_gateway(self, name: str) -> None:
        """Declare a sofia gateway (unknown gateways fail with INVALID_GATEWAY)."""
        self.gateways.add(name)

    def match_endpoint(self, dial: str) -> Endpoint | None:
        """The first endpoint whose pattern matches the dial string."""
        for pattern, endpoint in self.endpoints:
            if pattern.search(dial):
                return endpoint
        return None

    def place_call(
        self,
        *,
        destination: str = "1000",
        caller_id_number: str = "+15551230000",
        caller_id_name: str = "Demo Caller",
        socket: str | None = None,
        variables: dict[str, str] | None = None,
        caller_audio: Path | None = None,
        rate: int = 8000,
        context: str = "public",
        channel_name: str | None = None,
        line_echo: LineEcho | None = None,
        rtp_ends_with_audio: bool = False,
    ) -> SimCall:
        """An inbound SIP call arrives; with ``socket`` its dialplan is ``socket <arg>`` then hangup.

        Without ``socket`` the stand-in's dialplan decides (no route: NO_ROUTE_DESTINATION).
        ``line_echo`` (default: the switch's) mixes the echo of what is played into the caller's audio.
        ``rtp_ends_with_audio``: the caller sends no RTP once ``caller_audio`` ends, as SIPp's rtp_stream.
        """
        call_uuid = str(uuid_module.uuid4())
        name = channel_name or f"sofia/internal/{caller_id_number}@127.0.0.1:5060"
        profile = CallerProfile(
            direction="inbound",
            uuid=call_uuid,
            channel_name=name,
            destination_number=destination,
            context=context,
            source="mod_sofia",
            caller_id_number=caller_id_number,
            caller_id_name=caller_id_name,
            username=caller_id_number,
            network_addr="127.0.0.1",
        )
        channel = self.new_channel(
            profile,
            kind="sofia",
            rate=rate,
            caller_audio=caller_audio,
            hit_dialplan=True,
            line_echo=line_echo,
        )
        # An INVITE received: FreeSWITCH's inbound sofia channel is RINGING from the start (every real
        # capture's connect reply says so: outbound-socket-call, realswitch-did-call).
        channel.call_state = "RINGING"
        channel.rtp_ends_with_audio = rtp_ends_with_audio
        for key, value in _sofia_inbound_variables(channel, destination).items():
            channel.set_var(key, value)
        for key, value in (variables or {}).items():
            channel.set_var(key, value)
        if socket is not None:
            apps: DialplanApps = [("socket", socket), ("hangup", "NORMAL_CLEARING")]
        else:
            apps = self.dialplan.find(context, destination) or [("hangup", "NO_ROUTE_DESTINATION")]
        Session(self, channel, apps).start()
        return self.calls[call_uuid]


def _sofia_inbound_variables(channel: Channel, destination: str) -> dict[str, str]:
    profile = channel.profile
    user = profile.caller_id_number
    return {
        "direction": "inbound",
        "uuid": channel.uuid,
        "session_id": "1",
        "sip_from_user": user,
        "sip_from_uri": f"{user}@127.0.0.1",
        "sip_from_host": "127.0.0.1",
        "channel_name": channel.name,
        # the Call-ID a sipp caller sends: <call number>-<pid>@<ip>
        "sip_call_id": f"{next(_CALL_IDS)}-{os.getpid()}@127.0.0.1",
        "sip_network_ip": "127.0.0.1",
        "sip_via_protocol": "udp",
        "sip_from_display": profile.caller_id_name,
        "sofia_profile_name": "internal",
        "sip_req_user": destination,
        "sip_to_user": destination,
        "presence_id": f"{user}@127.0.0.1",
        "call_uuid": channel.uuid,
    }
