"""The two switches a contract test runs against, behind one interface: the stand-in and FreeSWITCH 1.10.12.

A *line* is where the stack under test takes calls and how a caller reaches it. The stand-in's caller is
:meth:`FakeSwitch.place_call` with the dialplan's ``socket`` given directly; the real switch's caller is
SIPp dialling the DID on the external profile, routed by the repository's own dialplan to the stack
through a recording :class:`Tap`. Either way a call ends with the caller's stereo recording (left: what
the caller said, right: what the caller heard), which the stand-in writes itself and the real switch
writes with ``uuid_record`` (:class:`CallRecorder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import gevent
from pydantic import SecretStr

from app.config import Settings
from app.sim.switch import FakeSwitch, SimCall
from app.wiring import Stack
from tests.realswitch import sipp
from tests.realswitch.harness import RealSwitch
from tests.realswitch.recorder import CallRecorder
from tests.realswitch.tap import Tap
from tests.realswitch.waits import only_call

DID = "15555550100"
CALLER = "15551230000"


@dataclass(frozen=True)
class Dialled:
    """One finished call as the caller saw it: its uuid and the stereo recording of what was said and heard."""

    uuid: str
    recording: Path


class Line(Protocol):
    """Where a test's stack answers calls, and a caller that dials it."""

    name: str

    def settings(self, base: Settings) -> Settings:
        """``base`` pointed at this switch (its event socket and password)."""
        ...

    def route_to(self, stack: Stack) -> None:
        """Send this line's calls to ``stack``'s controller."""
        ...

    def dial_in(
        self,
        stack: Stack,
        workdir: Path,
        caller_wav: Path,
        *,
        hang_up_after_ms: int | None = None,
        dtmf: tuple[int, str] | None = None,
    ) -> Dialled:
        """A caller dials the DID, plays ``caller_wav`` (8 kHz mono) from the answer on, optionally presses
        ``dtmf=(after_ms, key)`` (RFC 2833 on the real switch), hangs up ``hang_up_after_ms`` after the
        answer (else waits for the agent to), and the call has ended on both sides when this returns."""
        ...

    def close(self) -> None: ...


class StandInLine:
    """The stand-in: the test's own :class:`FakeSwitch`."""

    name = "stand-in"

    def __init__(self, switch: FakeSwitch) -> None:
        self.switch = switch

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(
            update={"esl_port": self.switch.esl_port, "esl_password": SecretStr(self.switch.password)}
        )

    def route_to(self, stack: Stack) -> None:
        """Nothing to do: each call names the controller in its ``socket`` application."""

    def dial_in(
        self,
        stack: Stack,
        workdir: Path,
        caller_wav: Path,
        *,
        hang_up_after_ms: int | None = None,
        dtmf: tuple[int, str] | None = None,
    ) -> Dialled:
        call = self.switch.place_call(
            destination=DID,
            caller_id_number=CALLER,
            socket=f"127.0.0.1:{stack.controller_port} async full",
            variables={"call_type": "sip"},
            caller_audio=caller_wav,
            rate=8000,
        )
        caller = [gevent.spawn(_press, call, *dtmf)] if dtmf else []
        if hang_up_after_ms is not None:
            caller.append(gevent.spawn(_hang_up, call, hang_up_after_ms))
        assert call.wait_ended(90), "the stand-in's call never ended"
        gevent.joinall(caller, raise_error=True)
        assert stack.controller_finished(call.uuid, timeout=10)
        assert call.recording_path is not None and call.recording_path.exists()
        return Dialled(call.uuid, call.recording_path)

    def close(self) -> None:
        """The ``switch`` fixture stops the stand-in."""


def _press(call: SimCall, after_ms: int, key: str) -> None:
    if call.wait_answered(10):
        gevent.sleep(after_ms / 1000)
        call.send_dtmf(key)


def _hang_up(call: SimCall, after_ms: int) -> None:
    if call.wait_answered(10):
        gevent.sleep(after_ms / 1000)
        call.hangup()


class RealSwitchLine:
    """FreeSWITCH 1.10.12 with the repository's configuration; callers are SIPp on the external profile."""

    name = "freeswitch"

    def __init__(self, switch: RealSwitch, workdir: Path) -> None:
        self.switch = switch
        self.workdir = workdir
        self.recorder = CallRecorder(switch, workdir / "recordings")
        self.recorder.start()
        self._tap: Tap | None = None

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(
            update={"esl_port": self.switch.ports.esl, "esl_password": SecretStr(self.switch.esl_password)}
        )

    def route_to(self, stack: Stack) -> None:
        """The dialplan's socket target is fixed when the switch starts: relay it to this stack."""
        self._tap = Tap(self.switch.ports.controller, stack.controller_port, self.workdir / "esl")
        self._tap.start()

    def dial_in(
        self,
        stack: Stack,
        workdir: Path,
        caller_wav: Path,
        *,
        hang_up_after_ms: int | None = None,
        dtmf: tuple[int, str] | None = None,
    ) -> Dialled:
        result = sipp.call(
            workdir,
            number=DID,
            port=self.switch.ports.external_sip,
            caller=CALLER,
            audio_wav=caller_wav,
            hangs_up_after_ms=hang_up_after_ms,
            dtmf=dtmf,
        )
        assert result.ok, result.output + result.messages
        record = only_call(stack.call_log)
        assert stack.controller_finished(record.uuid, timeout=10)
        return Dialled(record.uuid, self.recorder.recording(record.uuid))

    def close(self) -> None:
        self.recorder.stop()
        if self._tap is not None:
            self._tap.stop()
