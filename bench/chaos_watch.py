"""The stand-in's own account of every channel, taken from inside its process (no ESL connection to lose).

It listens on the stand-in's event bus (every event it fires, whoever is subscribed) and on its
``socket`` application's log lines (connected, or could not connect: the controller was down).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from app.sim.switch import FakeSwitch
from app.sim.wire import Event
from bench.chaos_tally import SeenCall

STREAM_CONNECT = "mod_audio_stream::connect"


@dataclass
class _Marks:
    call: SeenCall
    playbacks: list[float] = field(default_factory=list)
    streams: list[float] = field(default_factory=list)


class SwitchWatch(logging.Handler):
    """Builds a :class:`SeenCall` per channel; ``planned`` holds each call's intended length."""

    def __init__(self, switch: FakeSwitch) -> None:
        super().__init__(level=logging.INFO)
        self.switch = switch
        self._calls: dict[str, _Marks] = {}
        self.planned: dict[str, float] = {}
        self.outbound_planned_s: float | None = None
        switch.bus.subscribe(self._on_event)
        socket_log = logging.getLogger("app.sim.outbound")
        socket_log.setLevel(logging.INFO)
        socket_log.addHandler(self)

    def close(self) -> None:
        self.switch.bus.unsubscribe(self._on_event)
        logging.getLogger("app.sim.outbound").removeHandler(self)
        super().close()

    def calls(self) -> list[SeenCall]:
        seen = []
        for marks in self._calls.values():
            planned = self.planned.get(marks.call.uuid)
            if planned is None and marks.call.direction == "outbound":
                planned = self.outbound_planned_s
            seen.append(
                replace(
                    marks.call,
                    planned_s=planned,
                    playbacks=tuple(marks.playbacks),
                    stream_connects=tuple(marks.streams),
                )
            )
        return seen

    def live(self) -> list[str]:
        """Calls answered and not yet ended, now."""
        return [
            uuid
            for uuid, marks in self._calls.items()
            if marks.call.answered_at is not None and marks.call.ended_at is None
        ]

    def latest_originate(self) -> float | None:
        times = [m.call.created_at for m in self._calls.values() if m.call.direction == "outbound"]
        return max(times, default=None)

    def _on_event(self, event: Event) -> None:
        uuid = event.unique_id
        if not uuid:
            return
        now = time.monotonic()
        if event.name == "CHANNEL_CREATE":
            self._created(uuid, now)
            return
        marks = self._calls.get(uuid)
        if marks is None:
            return
        if event.name == "CHANNEL_ANSWER" and marks.call.answered_at is None:
            marks.call = replace(marks.call, answered_at=now)
        elif event.name == "CHANNEL_HANGUP" and marks.call.ended_at is None:
            marks.call = replace(marks.call, ended_at=now, cause=event.get("Hangup-Cause"))
        elif event.name == "PLAYBACK_START":
            marks.playbacks.append(now)
        elif event.name == "CUSTOM" and event.subclass == STREAM_CONNECT:
            marks.streams.append(now)

    def _created(self, uuid: str, now: float) -> None:
        found = self.switch.find_call(uuid)
        if found is None or uuid in self._calls:
            return
        channel = found.channel
        direction = channel.profile.direction
        number = (
            channel.get_var("callbridge_callee") or channel.profile.destination_number
            if direction == "outbound"
            else channel.profile.destination_number
        )
        self._calls[uuid] = _Marks(SeenCall(uuid=uuid, direction=direction, number=number, created_at=now))

    def emit(self, record: logging.LogRecord) -> None:
        # run_socket_app logs "<uuid> socket connected to ..." once the controller's socket is open.
        if " socket connected to " not in record.msg or not record.args:
            return
        uuid = str(record.args[0]) if isinstance(record.args, tuple) else ""
        marks = self._calls.get(uuid)
        if marks is not None:
            marks.call = replace(marks.call, controlled=True)
