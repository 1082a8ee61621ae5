"""What a caller on the real switch heard: each answered call recorded by FreeSWITCH itself, in stereo.

SIPp streams the caller's audio but keeps nothing it receives, so the switch records the call instead, as
the stand-in does: ``uuid_record`` with ``RECORD_STEREO`` puts what the caller sent on the left channel
and what the switch sent the caller (the agent's playback) on the right. The recorder listens for
``CHANNEL_ANSWER`` on an event socket of its own, in a greenlet beside the stack under test.
"""

from __future__ import annotations

from pathlib import Path

import gevent
import gevent.event

from tests.realswitch.esl_client import EslClosed, EslProbe
from tests.realswitch.harness import RealSwitch


class CallRecorder:
    """Start a stereo recording of every call the switch answers; ``recording(uuid)`` once it has ended."""

    def __init__(self, switch: RealSwitch, directory: Path) -> None:
        self.switch = switch
        self.directory = directory
        self._finished: dict[str, gevent.event.Event] = {}
        self._greenlet: gevent.Greenlet[[], None] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        events = self.switch.esl(cooperative=True)
        events.command("event plain CHANNEL_ANSWER RECORD_STOP")
        self._greenlet = gevent.spawn(self._follow, events)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()

    def path(self, uuid: str) -> Path:
        return self.directory / f"{uuid}.wav"

    def recording(self, uuid: str, timeout: float = 10.0) -> Path:
        """The call's recording once FreeSWITCH has closed it (``RECORD_STOP``, at hangup)."""
        finished = self._finished.setdefault(uuid, gevent.event.Event())
        if not finished.wait(timeout):
            raise AssertionError(f"no finished recording of {uuid} within {timeout:.0f} s")
        return self.path(uuid)

    def _follow(self, events: EslProbe) -> None:
        commands = self.switch.esl(cooperative=True)
        try:
            while True:
                event = events.event(timeout=3600)
                uuid = event.unique_id
                if event.name == "CHANNEL_ANSWER" and event.get("Call-Direction") == "inbound":
                    commands.api(f"uuid_setvar {uuid} RECORD_STEREO true")
                    commands.api(f"uuid_record {uuid} start {self.path(uuid)}")
                elif event.name == "RECORD_STOP":
                    self._finished.setdefault(uuid, gevent.event.Event()).set()
        except EslClosed:
            return
        finally:
            events.close()
            commands.close()
