"""One Event Socket connection, inbound (client connected to us) or outbound (``socket`` app).

Follows mod_event_socket.c's ``parse_command``: prefix-matched commands, the refusals of a
non-``full`` outbound socket, ``-ERR command not found`` for anything else, replies always
queued before the events the command causes.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import gevent
import gevent.event
import gevent.queue
from gevent import socket

from app.sim.channel import PrivateMessage
from app.sim.events import ORIGIN_API_EXEC, ORIGIN_CHANNEL_DATA
from app.sim.subscriptions import Subscriptions
from app.sim.wire import (
    Command,
    CommandParser,
    Event,
    api_response,
    atoi,
    command_reply,
    disconnect_notice,
    frame_event,
    serialize_plain,
)

if TYPE_CHECKING:
    from app.sim.session import Session
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

CLOSE = b""
REPLIED = "\x00replied"
"""A handler's return value meaning: the reply has already been queued."""


class Listener:
    """An ESL connection: reads commands, writes replies and subscribed events in order."""

    def __init__(
        self,
        switch: FakeSwitch,
        sock: socket.socket,
        *,
        session: Session | None = None,
        full: bool = True,
        async_mode: bool = True,
    ) -> None:
        self.switch = switch
        self.sock = sock
        self.session = session
        self.full = full
        self.async_mode = async_mode
        self.authed = session is not None
        self.format = "plain"
        self.subscriptions = Subscriptions()
        self.linger: int | None = None
        self.connected = gevent.event.Event()
        self.finished = gevent.event.Event()
        self.running = True
        self._out: gevent.queue.Queue[bytes] = gevent.queue.Queue()
        self._held: list[Event] | None = None
        self._writer: gevent.Greenlet[[], None] | None = None

    @property
    def label(self) -> str:
        """For log lines: the controlled channel's uuid, or 'inbound'."""
        return self.session.channel.uuid if self.session else "inbound"

    # ------------------------------------------------------------------ plumbing
    def serve(self) -> None:
        """Run the connection until it closes (blocks the calling greenlet)."""
        self.switch.bus.subscribe(self.deliver)
        self._writer = gevent.spawn(self._write_loop)
        if self.session is None:
            self.send(b"Content-Type: auth/request\n\n")
        parser = CommandParser()
        try:
            while self.running:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    logger.info("%s ESL peer closed the connection", self.label)
                    self.running = False
                    break
                for command in parser.feed(data):
                    if not self.running:
                        break
                    self.handle(command)
        finally:
            self.switch.bus.unsubscribe(self.deliver)
            self.running = False
            self._out.put(CLOSE)
            self._writer.join()
            self.finished.set()

    def send(self, data: bytes) -> None:
        """Queue bytes for the peer (replies and events share one ordered queue)."""
        if data:
            self._out.put(data)

    def close(self, goodbye: bool = True) -> None:
        """Send the goodbye notice (if asked) and close after everything queued is written."""
        if goodbye:
            session_uuid = self.session.channel.uuid if self.session else None
            self.send(disconnect_notice(session_uuid))
        self.running = False
        self._out.put(CLOSE)

    def _write_loop(self) -> None:
        while True:
            data = self._out.get()
            if data == CLOSE:
                break
            try:
                self.sock.sendall(data)
            except OSError:
                logger.info("%s ESL write failed; dropping the connection", self.label)
                break
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def deliver(self, event: Event) -> None:
        """Event bus callback: queue the event if this listener is subscribed to it."""
        if not self.running or not self.subscriptions.wants(event):
            return
        if self._held is not None:
            self._held.append(event)
            return
        self.send(frame_event(event, self.format))

    # ------------------------------------------------------------------ commands
    def handle(self, command: Command) -> None:
        """parse_command: dispatch one packet and queue its reply."""
        line = command.line.strip("\r\n")
        lowered = line.lower()
        reply: str | None = None
        if lowered.startswith(("exit", "...")):
            self.send(command_reply("+OK bye"))
            self.close()
            return
        if not self.authed:
            self._handle_auth(line)
            return
        if lowered.startswith("filter "):
            reply = self._filter(line[7:])
        elif self.session is not None or lowered.startswith("myevents "):
            reply = self._session_command(line, lowered)
        if reply is None and lowered.startswith("sendmsg"):
            reply = self._sendmsg(line[7:].strip(), command)
        if reply is None and (self.full or self.session is None):
            reply = self._full_command(line, lowered, command)
        if reply == REPLIED:
            return
        self.send(command_reply(reply or "-ERR command not found"))

    def _handle_auth(self, line: str) -> None:
        if line.lower().startswith("auth "):
            if line[5:] == self.switch.password:
                self.authed = True
                self.send(command_reply("+OK accepted"))
            else:
                logger.warning("inbound ESL: wrong password")
                self.send(command_reply("-ERR invalid"))
                self.close()
            return
        self.send(command_reply("-ERR command not found"))

    def _filter(self, spec: str) -> str:
        name, _, value = spec.strip(" ").partition(" ")
        filters = self.subscriptions.filters
        if name.lower() == "delete" and value:
            name, _, value = value.partition(" ")
            if name.lower() == "all":
                filters.clear()
            else:
                filters[:] = [(h, v) for h, v in filters if not (h == name and (not value or v == value))]
            return f"+OK filter deleted. [{name}][{value or '(null)'}]"
        if value:
            if name.lower() == "add":
                name, _, value = value.partition(" ")
            filters.append((name, value))
            return f"+OK filter added. [{name}]=[{value}]"
        return "-ERR invalid syntax"

    def _session_command(self, line: str, lowered: str) -> str | None:
        if self.session is not None and lowered.startswith("connect"):
            self.connected.set()
            self.send(self._channel_data().encode("utf-8", "surrogateescape"))
            return REPLIED
        if self.session is not None and lowered.startswith("getvar"):
            _, _, name = line.partition(" ")
            return (self.session.channel.get_var(name) or "") if name else ""
        if lowered.startswith("myevents"):
            if self.subscriptions.my_uuid is not None:
                return "-ERR aready enabled."
            target = self.session.channel.uuid if self.session else None
            words = line.split(" ")
            if self.session is None:
                target = words[1] if len(words) > 1 else ""
                if self.switch.find_channel(target) is None and len(words) > 2:
                    return "-ERR invalid uuid"
            self.subscriptions.enable_myevents(target or "")
            if "json" in line.lower():
                self.format = "json"
            elif "plain" in line.lower():
                self.format = "plain"
            return "+OK Events Enabled"
        return None

    def _channel_data(self) -> str:
        assert self.session is not None
        channel = self.session.channel
        event = self.switch.bus.new_event("CHANNEL_DATA", ORIGIN_CHANNEL_DATA)
        event.headers += channel.profile.headers("Channel")
        event.headers += channel.data_headers()
        event.add("Content-Type", "command/reply")
        event.add("Reply-Text", "+OK\n")
        event.add("Socket-Mode", "async" if self.async_mode else "static")
        event.add("Control", "full" if self.full else "single-channel")
        return serialize_plain(event)

    def _sendmsg(self, target: str, command: Command) -> str:
        channel = self.session.channel if self.session else None
        if not target:
            target = command.header("session-id") or ""
        if target and (channel is None or target != channel.uuid):
            channel = self.switch.find_channel(target)
            if channel is None:
                return f"-ERR invalid session id [{target}]"
            inline = False
        else:
            inline = self.session is not None and not self.async_mode and not _true(command.header("async"))
        if channel is None:
            return "-ERR invalid session id [(null)]"
        message = _private_message(command)
        if message.command == "hangup":
            channel.spawn(channel.hangup, message.cause)
        elif inline and self.session is not None:
            self._held = []
            try:
                self.session.handle(message)
            finally:
                held, self._held = self._held, None
            self.send(command_reply("+OK"))
            for event in held:
                self.send(frame_event(event, self.format))
            return REPLIED
        else:
            channel.queue_message(message)
        return "+OK"

    def _full_command(self, line: str, lowered: str, command: Command) -> str | None:
        if lowered.startswith("api "):
            name, _, arg = line[4:].partition(" ")
            self.send(api_response(self.switch.api.execute(name, arg or None, self)))
            return REPLIED
        if lowered.startswith("bgapi "):
            name, _, arg = line[6:].partition(" ")
            job_uuid = command.header("job-uuid") or str(uuid.uuid4())
            self.send(command_reply(f"+OK Job-UUID: {job_uuid}", f"Job-UUID: {job_uuid}\n"))
            gevent.spawn(self._background_job, job_uuid, name, arg or None)
            return REPLIED
        if lowered.startswith("linger"):
            if self.session is None:
                return "-ERR not controlling a session"
            seconds = line[7:].strip() if line[6:7] == " " else ""
            self.linger = atoi(seconds) if seconds else -1
            return f"+OK will linger {self.linger} seconds" if self.linger != -1 else "+OK will linger"
        if lowered.startswith("nolinger"):
            if self.session is None:
                return "-ERR not controlling a session"
            self.linger = None
            return "+OK will not linger"
        if lowered.startswith("event"):
            return self._event_command(line)
        if lowered.startswith("nixevent"):
            keys = self.subscriptions.remove_events(line.split(" ")[1:])
            return "+OK events nixed" if keys else "-ERR no keywords supplied"
        if lowered.startswith("noevents"):
            if not self.subscriptions.enabled:
                return "-ERR not listening for events"
            self.subscriptions.clear()
            return "+OK no longer listening for events"
        return None

    def _event_command(self, line: str) -> str:
        tokens = line.split(" ")[1:] if " " in line else []
        if tokens and tokens[0].lower() in ("plain", "json", "xml"):
            self.format = tokens[0].lower()
            tokens = tokens[1:]
        if not self.subscriptions.add_events(tokens):
            return "-ERR no keywords supplied"
        return f"+OK event listener enabled {self.format}"

    def _background_job(self, job_uuid: str, name: str, arg: str | None) -> None:
        result = self.switch.api.execute(name, arg, self)
        event = self.switch.bus.new_event("BACKGROUND_JOB", ORIGIN_API_EXEC)
        event.add("Job-UUID", job_uuid)
        if self.session is not None:
            event.add("Job-Owner-UUID", self.session.channel.uuid)
        event.add("Job-Command", name)
        event.add("Job-Command-Arg", arg)
        event.body = result or "Command returned no output!"
        self.switch.bus.fire(event)


def _private_message(command: Command) -> PrivateMessage:
    arg = command.header("execute-app-arg")
    content_type = (command.header("content-type") or "").lower()
    if not arg and content_type == "text/plain" and command.body:
        arg = command.body
    loops = atoi(command.header("loops") or "1") if command.header("loops") else 1
    return PrivateMessage(
        command=(command.header("call-command") or "").lower(),
        app=command.header("execute-app-name") or "",
        arg=arg,
        loops=loops,
        cause=(command.header("hangup-cause") or "NORMAL_CLEARING").upper(),
    )


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "yes", "on", "1", "enabled", "active", "allow")
