"""The stand-in's Verto endpoint: mod_verto's JSON-RPC over WebSocket, with real WebRTC media.

A browser logs in (``login``, checked against the users given), calls (``verto.invite`` with its SDP
offer), presses keys (``verto.info`` with ``dtmf``) and hangs up (``verto.bye``). Each call becomes a
stand-in channel named ``verto.rtc/<destination>`` with ``source=mod_verto``, whose uuid is the browser's
``callID`` (as mod_verto does), running the shipped dialplan for browsers: ``set call_type=webrtc``,
``socket <controller> async full``. When the controller answers, the browser gets ``verto.answer`` with
the SDP answer; when the channel hangs up, ``verto.bye``. The audio is bridged by
:mod:`app.sim.verto_media`: the browser's microphone becomes the channel's caller audio, and what the
channel plays goes to the browser as Opus.

Typical use::

    with FakeSwitch(password="pw") as switch, VertoEndpoint(switch, users={"1000": "secret"},
            socket_target="127.0.0.1:8084 async full") as verto:
        page_url = f"ws://127.0.0.1:{verto.port}"
"""

from __future__ import annotations

import itertools
import logging
from types import TracebackType
from typing import TYPE_CHECKING

import gevent
from gevent import socket
from gevent.server import StreamServer

from app.sim import verto_rpc as rpc
from app.sim.profile import CallerProfile
from app.sim.session import DialplanApps, Session
from app.sim.verto_media import AgentAudioTap, RtcLoop, RtcPeer
from app.sim.verto_ws import TextWebSocket

if TYPE_CHECKING:
    from app.sim.channel import Channel
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

OPUS_RATE = 48000


class VertoEndpoint:
    """A Verto WebSocket server on the stand-in (mod_verto's ``bind-local``)."""

    def __init__(
        self,
        switch: FakeSwitch,
        *,
        users: dict[str, str],
        socket_target: str,
        extension: str = "8000",
        host: str = "127.0.0.1",
        port: int = 0,
        rate: int = OPUS_RATE,
    ) -> None:
        self.switch = switch
        self.users = dict(users)
        self.socket_target = socket_target
        self.extension = extension
        self.host = host
        self.rate = rate
        self.rtc = RtcLoop()
        self.peers: dict[str, RtcPeer] = {}
        """WebRTC peers by call uuid (kept after hangup, for tests)."""
        self._server = StreamServer((host, port), self._serve)
        self._connections: list[VertoConnection] = []

    def start(self) -> None:
        """Start listening."""
        self._server.start()
        logger.info("Verto endpoint on ws://%s:%d", self.host, self.port)

    def stop(self) -> None:
        """Close every connection and peer, stop listening."""
        for connection in list(self._connections):
            connection.close()
        for peer in self.peers.values():
            peer.close()
        self._server.stop(timeout=1)
        self.rtc.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """``ws://host:port`` for the page's settings."""
        return f"ws://{self.host}:{self.port}"

    def __enter__(self) -> VertoEndpoint:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def check_login(self, login: str, password: str) -> bool:
        """The directory check: the user exists and the password matches."""
        user, _ = rpc.user_and_domain(login)
        return user in self.users and self.users[user] == password

    def dialplan(self, destination: str) -> DialplanApps:
        """The shipped ``default`` context for ``source=mod_verto`` (dialplan/default/10_callbridge_agent.xml)."""
        if destination != self.extension:
            return [("hangup", "NO_ROUTE_DESTINATION")]
        return [
            ("set", "call_type=webrtc"),
            ("set", "callbridge_direction=inbound"),
            ("socket", self.socket_target),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ]

    def _serve(self, sock: socket.socket, address: tuple[str, int]) -> None:
        connection = VertoConnection(self, TextWebSocket(sock), f"{address[0]}:{address[1]}")
        self._connections.append(connection)
        try:
            connection.serve()
        finally:
            self._connections.remove(connection)


class VertoConnection:
    """One browser's WebSocket: its login and its calls."""

    def __init__(self, endpoint: VertoEndpoint, ws: TextWebSocket, peer_address: str) -> None:
        self.endpoint = endpoint
        self.ws = ws
        self.peer_address = peer_address
        self.login = ""
        self.sessid = ""
        self.calls: dict[str, Channel] = {}
        self._ids = itertools.count(1)
        self._ended_by_browser: set[str] = set()

    def serve(self) -> None:
        if not self.ws.accept():
            return
        logger.info("verto connection from %s", self.peer_address)
        while (text := self.ws.receive()) is not None:
            try:
                message = rpc.parse(text)
            except rpc.VertoProtocolError as error:
                self.ws.send(rpc.error(None, rpc.CODE_INVALID, f"Invalid Request: {error}"))
                continue
            if isinstance(message, rpc.Request):
                self.handle(message)
        logger.info("verto connection from %s closed", self.peer_address)
        for uuid, channel in list(self.calls.items()):
            # mod_verto keeps calls for a while for reattachment; the stand-in hangs up at once
            logger.info("%s verto socket gone: hanging up", uuid)
            channel.spawn(channel.hangup, "NORMAL_CLEARING")

    def close(self) -> None:
        self.ws.close()

    def handle(self, request: rpc.Request) -> None:
        """Dispatch one request from the browser."""
        if request.method == "login":
            self._login(request)
        elif not self.login:
            self.ws.send(rpc.error(request.id, rpc.CODE_AUTH_REQUIRED, "Authentication Required"))
        elif request.method == "verto.invite":
            self._invite(request)
        elif request.method == "verto.bye":
            self._bye(request)
        elif request.method == "verto.info":
            self._info(request)
        else:
            self.ws.send(
                rpc.error(request.id, rpc.CODE_METHOD_NOT_FOUND, "INVALID METHOD OR NON-EXISTANT CALL")
            )

    def _login(self, request: rpc.Request) -> None:
        login = str(request.params.get("login") or "")
        if not self.endpoint.check_login(login, str(request.params.get("passwd") or "")):
            logger.warning("verto login failed for %r from %s", login, self.peer_address)
            self.ws.send(rpc.error(request.id, rpc.CODE_AUTH_FAILED, "Authentication Failure"))
            return
        self.login, self.sessid = login, request.sessid
        self.ws.send(rpc.login_ok(request.id, self.sessid))
        self.ws.send(rpc.client_ready(next(self._ids), self.sessid))

    def _invite(self, request: rpc.Request) -> None:
        call_id, sdp = request.call_id, str(request.params.get("sdp") or "")
        if not call_id or not sdp or call_id in self.calls or self.endpoint.switch.find_call(call_id):
            self.ws.send(rpc.error(request.id, rpc.CODE_INVALID, "Invalid Call ID or SDP"))
            return
        peer = RtcPeer(self.endpoint.rtc, call_id, self.endpoint.rate)
        try:
            answer_sdp = peer.answer(sdp)
        except Exception as error:
            # A browser's bad offer is bad input, not a bug of ours: a warning, and an error reply.
            logger.warning("%s cannot answer the browser's offer: %s", call_id, error)
            peer.close()
            self.ws.send(rpc.error(request.id, rpc.CODE_INVALID, f"Cannot negotiate media: {error}"))
            return
        self.endpoint.peers[call_id] = peer
        channel = self._new_channel(call_id, request.dialog)
        self.calls[call_id] = channel
        self.ws.send(rpc.call_created(request.id, call_id, self.sessid))
        gevent.spawn(self._follow, channel, peer, answer_sdp)
        destination = str(request.dialog.get("destination_number") or "")
        Session(self.endpoint.switch, channel, self.endpoint.dialplan(destination)).start()

    def _new_channel(self, call_id: str, dialog: dict[str, object]) -> Channel:
        user, domain = rpc.user_and_domain(self.login)
        destination = str(dialog.get("destination_number") or "")
        profile = CallerProfile(
            direction="inbound",
            uuid=call_id,
            channel_name=f"verto.rtc/{destination}",
            destination_number=destination,
            context="default",
            source="mod_verto",
            caller_id_number=str(dialog.get("caller_id_number") or user),
            caller_id_name=str(dialog.get("caller_id_name") or user),
            username=user,
            network_addr=self.peer_address.rsplit(":", 1)[0],
        )
        channel = self.endpoint.switch.new_channel(
            profile, kind="verto", rate=self.endpoint.rate, caller_audio=None, hit_dialplan=True
        )
        for name, value in {
            "direction": "inbound",
            "uuid": call_id,
            "call_uuid": call_id,
            "channel_name": channel.name,
            "verto_user": user,
            "verto_host": domain,
            "verto_login": self.login,
            "verto_sessid": self.sessid,
            "presence_id": self.login,
            "chat_proto": "verto",
            "ep_codec_string": "mod_opus.opus@48000h@20i@2c",
        }.items():
            channel.set_var(name, value)
        logger.info("%s verto call from %s to %s", call_id, self.login, destination)
        return channel

    def _follow(self, channel: Channel, peer: RtcPeer, answer_sdp: str) -> None:
        """Bridge the call's life to the browser: answer -> media and ``verto.answer``; hangup -> bye."""
        gevent.wait([channel.answered, channel.hung_up], count=1)
        if channel.answered.is_set() and channel.media is not None and not channel.hung_up.is_set():
            channel.media.set_caller_source(peer.browser_audio)
            channel.media.add_bug(AgentAudioTap(peer.agent_track))
            self.ws.send(rpc.answer(next(self._ids), channel.uuid, answer_sdp))
            logger.info("%s verto call answered", channel.uuid)
        channel.hung_up.wait()
        self.calls.pop(channel.uuid, None)
        if channel.uuid not in self._ended_by_browser:
            self.ws.send(rpc.bye(next(self._ids), channel.uuid, channel.hangup_cause or "NORMAL_CLEARING"))
        peer.close()

    def _bye(self, request: rpc.Request) -> None:
        channel = self.calls.get(request.call_id)
        if channel is None:
            self.ws.send(rpc.error(request.id, rpc.CODE_INVALID, "CALL DOES NOT EXIST"))
            return
        cause = str(request.params.get("cause") or "NORMAL_CLEARING")
        self._ended_by_browser.add(channel.uuid)
        self.ws.send(rpc.call_ended(request.id, channel.uuid, self.sessid, cause))
        logger.info("%s verto bye from the browser (%s)", channel.uuid, cause)
        channel.spawn(channel.hangup, cause)

    def _info(self, request: rpc.Request) -> None:
        channel = self.calls.get(request.call_id)
        digits = str(request.params.get("dtmf") or "")
        if channel is None:
            self.ws.send(rpc.error(request.id, rpc.CODE_INVALID, "CALL DOES NOT EXIST"))
            return
        for digit in digits:
            if digit in "0123456789*#ABCD":
                channel.receive_dtmf(digit)
        self.ws.send(rpc.info_sent(request.id, self.sessid))
