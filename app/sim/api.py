"""API commands of the stand-in: mod_commands, mod_audio_stream's ``uuid_audio_stream``, mod_avmd's ``avmd``.

Each command returns the text FreeSWITCH writes to its stream; actions that fire events run
in their own greenlet so the reply is always queued before the events (fact 7).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.sim.args import separate_blank
from app.sim.audio_stream import AudioStreamFork
from app.sim.avmd import Avmd
from app.sim.channel import Channel, PrivateMessage
from app.sim.playback import process_fh
from app.sim.profile import is_known_cause
from app.sim.wire import atoi

if TYPE_CHECKING:
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)
BROADCAST_LEAD_FRAMES = 5

STREAM_USAGE = (
    "-USAGE: <uuid> [start | stop | send_text | pause | resume | graceful-shutdown ] [wss-url | path]"
    " [mono | mixed | stereo] [8000 | 16000] [metadata]\n"
)
WS_URL = re.compile(r"^wss?://[^/\s:]+(:\d+)?(/\S*)?$", re.IGNORECASE)
SHOW_CHANNEL_FIELDS = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
]

Command = Callable[[str], str]


class Api:
    """Dispatches ``api``/``bgapi`` commands by name."""

    def __init__(self, switch: FakeSwitch) -> None:
        self.switch = switch
        self.started = time.time()
        self.avmd = Avmd(switch)
        self.commands: dict[str, Command] = {
            "status": self.status,
            "show": self.show,
            "uuid_getvar": self.uuid_getvar,
            "uuid_setvar": self.uuid_setvar,
            "uuid_kill": self.uuid_kill,
            "uuid_break": self.uuid_break,
            "uuid_broadcast": self.uuid_broadcast,
            "uuid_fileman": self.uuid_fileman,
            "uuid_answer": self.uuid_answer,
            "uuid_transfer": self.uuid_transfer,
            "uuid_send_dtmf": self.uuid_send_dtmf,
            "uuid_exists": self.uuid_exists,
            "uuid_audio_stream": self.uuid_audio_stream,
            "avmd": self.avmd.api,
            "originate": self.switch.originator.originate_api,
        }

    def execute(self, name: str, arg: str | None, _listener: Any = None) -> str:
        """Run one API command; unknown ones give ``-ERR <name> Command not found!``."""
        command = self.commands.get(name.strip().lower())
        if command is None:
            return f"-ERR {name} Command not found!\n"
        try:
            return command((arg or "").strip("\r\n"))
        except Exception:
            logger.exception("api %s %s failed", name, arg)
            return "-ERR internal error\n"

    def _channel(self, uuid: str) -> Channel | None:
        return self.switch.find_channel(uuid)

    # ------------------------------------------------------------------ core
    def status(self, _arg: str) -> str:
        """``status``: uptime and session counters, formatted like FreeSWITCH 1.10.12."""
        elapsed = time.time() - self.started
        seconds = int(elapsed)
        minutes, sec = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        years, days = divmod(days, 365)
        millis = int((elapsed - seconds) * 1000)
        micros = int((elapsed - seconds) * 1_000_000) % 1000
        active = len(self.switch.channels)
        return (
            f"UP {years} years, {days} days, {hours} hours, {minutes} minutes, {sec} seconds, "
            f"{millis} milliseconds, {micros} microseconds\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.switch.sessions_since_startup} session(s) since startup\n"
            f"{active} session(s) - peak {self.switch.peak_sessions}, last 5min {self.switch.peak_sessions} \n"
            "0 session(s) per Sec out of max 30, peak 1, last 5min 1 \n"
            "1000 session(s) max\n"
            "min idle cpu 0.00/99.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    def show(self, arg: str) -> str:
        """``show channels [as json]``."""
        words = arg.split()
        if not words or words[0].lower() != "channels":
            return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"
        rows = [self._channel_row(channel) for channel in self.switch.channels.values() if channel.is_up]
        if len(words) >= 3 and words[1].lower() == "as" and words[2].lower() == "json":
            if not rows:
                return '{"row_count":0}'
            return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
        lines = [",".join(SHOW_CHANNEL_FIELDS)]
        lines += [",".join(row[name] for name in SHOW_CHANNEL_FIELDS) for row in rows]
        return "\n".join(lines) + f"\n\n{len(rows)} total.\n"

    def _channel_row(self, channel: Channel) -> dict[str, str]:
        profile = channel.profile
        created = profile.created_us / 1_000_000
        codec = channel.codec
        row = dict.fromkeys(SHOW_CHANNEL_FIELDS, "")
        row.update(
            uuid=channel.uuid,
            direction=profile.direction,
            created=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
            created_epoch=str(int(created)),
            name=channel.name,
            state=channel.state,
            cid_name=profile.caller_id_name,
            cid_num=profile.caller_id_number,
            ip_addr=profile.network_addr,
            dest=profile.destination_number,
            application=channel.get_var("current_application") or "",
            application_data=channel.get_var("current_application_data") or "",
            dialplan=profile.dialplan,
            context=profile.context,
            read_codec=codec.name if codec else "",
            read_rate=str(codec.rate) if codec else "",
            read_bit_rate=str(codec.bit_rate) if codec else "",
            write_codec=codec.name if codec else "",
            write_rate=str(codec.rate) if codec else "",
            write_bit_rate=str(codec.bit_rate) if codec else "",
            hostname=self.switch.bus.hostname,
            presence_id=channel.get_var("presence_id") or "",
            callstate=channel.call_state,
            call_uuid=channel.uuid,
            initial_cid_name=profile.caller_id_name,
            initial_cid_num=profile.caller_id_number,
            initial_ip_addr=profile.network_addr,
            initial_dest=profile.destination_number,
            initial_dialplan=profile.dialplan,
            initial_context=profile.context,
        )
        return row

    # ------------------------------------------------------------------ variables
    def uuid_getvar(self, arg: str) -> str:
        """``uuid_getvar <uuid> <var>``: the bare value (no newline) or ``_undef_``."""
        argv = separate_blank(arg, 4)
        if len(argv) < 2 or not argv[0]:
            return "-USAGE: <uuid> <var>\n"
        channel = self._channel(argv[0])
        if channel is None:
            return "-ERR No such channel!\n"
        if not argv[1]:
            return "-ERR No variable name specified!\n"
        return channel.get_var(argv[1]) or "_undef_"

    def uuid_setvar(self, arg: str) -> str:
        """``uuid_setvar <uuid> <var> [value]`` (no value unsets)."""
        argv = separate_blank(arg, 3)
        if len(argv) not in (2, 3) or not argv[0]:
            return "-USAGE: <uuid> <var> [value]\n"
        channel = self._channel(argv[0])
        if channel is None:
            return "-ERR No such channel!\n"
        if not argv[1]:
            return "-ERR No variable specified\n"
        channel.set_var(argv[1], argv[2] if len(argv) == 3 else None)
        return "+OK\n"

    # ------------------------------------------------------------------ call control
    def uuid_kill(self, arg: str) -> str:
        """``uuid_kill <uuid> [cause]``."""
        if not arg.strip():
            return "-USAGE: <uuid> [cause]\n"
        uuid, _, cause = arg.strip().partition(" ")
        channel = self._channel(uuid)
        if channel is None or not channel.is_up:
            return "-ERR No such channel!\n"
        cause = cause.strip().upper()
        channel.spawn(channel.hangup, cause if is_known_cause(cause) else "NORMAL_CLEARING")
        return "+OK\n"

    def uuid_answer(self, arg: str) -> str:
        """``uuid_answer <uuid>``."""
        channel = self._channel(arg.strip())
        if channel is None or not channel.is_up:
            return "-ERROR\n"
        channel.spawn(channel.answer)
        return "+OK\n"

    def uuid_break(self, arg: str) -> str:
        """``uuid_break <uuid> [all]``: stop the current file; ``all`` also flushes the queue."""
        if not arg.strip():
            return "-USAGE: <uuid> [all]\n"
        uuid, _, flag = arg.strip().partition(" ")
        channel = self._channel(uuid)
        if channel is None:
            return "-ERR No such channel!\n"
        if "all" in flag:
            dropped = channel.flush_messages()
            logger.info("%s uuid_break all: %d queued command(s) flushed", channel.uuid, dropped)
        if channel.playback is not None:
            channel.playback.stop()
        return "+OK\n"

    def uuid_broadcast(self, arg: str) -> str:
        """``uuid_broadcast <uuid> <path> [aleg|bleg|holdb|both]``: queue a playback (FIFO)."""
        argv = separate_blank(arg, 4)
        if len(argv) < 2:
            return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
        channel = self._channel(argv[0])
        if channel is None or not channel.is_up:
            return "-ERR invalid uuid\n"
        legs = argv[2].lower() if len(argv) > 2 else "aleg"
        if "aleg" in legs or "both" in legs:
            app, sep, app_arg = argv[1].partition("::")
            # switch_ivr_broadcast adds "lead-frames: 5" to the event it queues: switch_ivr_parse_event
            # reads five frames (100 ms at 20 ms ptime) before it starts the playback.
            message = (
                PrivateMessage("execute", app, app_arg, lead_frames=BROADCAST_LEAD_FRAMES)
                if sep
                else PrivateMessage("execute", "playback", argv[1], lead_frames=BROADCAST_LEAD_FRAMES)
            )
            channel.queue_message(message)
        return "+OK Message sent\n"

    def uuid_fileman(self, arg: str) -> str:
        """``uuid_fileman <uuid> <cmd>:<val>``: act on the file the channel is playing.

        ``+OK`` whenever a file plays, whatever the command did (mod_commands ignores the result of
        switch_ivr_process_fh); see ``process_fh`` for the commands.
        """
        argv = separate_blank(arg, 4) if arg else []
        if len(argv) < 2 or not argv[0]:
            return "-USAGE: <uuid> <cmd>:<val>\n"
        channel = self._channel(argv[0])
        if channel is None:
            return "-ERR No such channel!\n"
        if channel.playback is None:
            return "-ERR No file handle!\n"
        process_fh(channel.playback, argv[1])
        return "+OK\n"

    def uuid_transfer(self, arg: str) -> str:
        """``uuid_transfer <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]``."""
        argv = separate_blank(arg, 5)
        if len(argv) < 2 or len(argv) > 5:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        channel = self._channel(argv[0])
        if channel is None or not channel.is_up:
            return "-ERR No such channel!\n"
        rest = argv[1:]
        if rest[0].lower() in ("-bleg", "-both"):
            rest = rest[1:]
        if not rest:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        context = rest[2] if len(rest) > 2 else channel.profile.context
        channel.request_transfer(rest[0], context)
        return "+OK\n"

    def uuid_send_dtmf(self, arg: str) -> str:
        """``uuid_send_dtmf <uuid> <digits>``: DTMF sent toward the caller (recorded on the call)."""
        argv = separate_blank(arg, 2)
        if len(argv) < 2:
            return "-USAGE: <uuid> <dtmf_data>\n"
        channel = self._channel(argv[0])
        if channel is None or not channel.is_up:
            return "-ERR Cannot locate session!\n"
        channel.sent_dtmf.append(argv[1])
        return f"+OK {argv[0]} sent DTMF {argv[1]}.\n"

    def uuid_exists(self, arg: str) -> str:
        """``uuid_exists <uuid>``: true/false."""
        channel = self._channel(arg.strip())
        return "true" if channel is not None and channel.is_up else "false"

    # ------------------------------------------------------------------ mod_audio_stream
    def uuid_audio_stream(self, arg: str) -> str:
        """``uuid_audio_stream <uuid> start|stop|send_text|pause|resume ...`` (facts 13-14)."""
        argv = separate_blank(arg, 10)
        if not arg.strip() or len(argv) < 2 or (argv[1] == "start" and len(argv) < 4):
            return STREAM_USAGE
        channel = self._channel(argv[0])
        action = argv[1].lower()
        if channel is None or not channel.is_up:
            return "-ERR Operation Failed\n"
        fork = channel.audio_fork
        ok = False
        if action == "stop":
            ok = fork is not None and fork.stop(argv[2] if len(argv) > 2 else None)
        elif action in ("pause", "resume"):
            ok = fork is not None and (fork.pause() if action == "pause" else fork.resume())
        elif action == "send_text":
            if len(argv) < 3:
                return ""
            ok = fork is not None and fork.send_text(argv[2])
        elif action == "start":
            if argv[3] not in ("mono", "mixed", "stereo"):
                return ""
            ok = self._start_stream(channel, argv)
        return "+OK Success\n" if ok else "-ERR Operation Failed\n"

    def _start_stream(self, channel: Channel, argv: list[str]) -> bool:
        rate_text = argv[4] if len(argv) > 4 else "8k"
        rate = {"16k": 16000, "8k": 8000}.get(rate_text) or atoi(rate_text)
        if not WS_URL.match(argv[2]) or rate <= 0 or rate % 8000:
            return False
        if channel.answer_state not in ("early", "answered"):
            if channel.profile.direction != "inbound":
                return False
            channel.pre_answer()
        if channel.media is None or (channel.audio_fork is not None and channel.audio_fork.running):
            return False
        variables = {name: channel.get_var(name) or "" for name in channel.variables}
        fork = AudioStreamFork(
            uuid=channel.uuid,
            url=argv[2],
            mix=argv[3],
            rate=rate,
            metadata=argv[5] if len(argv) > 5 else None,
            media=channel.media,
            fire_event=channel.fire_custom,
            channel_variables=variables,
        )
        channel.audio_fork = fork
        fork.start()
        return True
