"""The benchmarks' calls through a real FreeSWITCH 1.10.12: SIPp callers streaming the same speech as RTP.

The switch is built by ``docker/build-freeswitch.sh`` and run by the real-switch tier's harness
(``tests/realswitch/harness.py``: the repository's configuration installed as docs/admin.md says, scratch
directories, loopback and free ports). Its dialplan sends the DID to one fixed ``socket`` target; a relay
there (the tier's recording :class:`Tap`, one local TCP hop) forwards each call to whichever benchmark
server the next call is for, so several servers can be compared in one run. Callers are SIPp on the
external profile, streaming the SIP caller's WAV as PCMU.
"""

from __future__ import annotations

import time
from pathlib import Path

import gevent

from app.store import CallLog
from tests.realswitch import sipp
from tests.realswitch.harness import Ports, RealSwitch, SwitchFailed, free_port
from tests.realswitch.tap import Tap

DID = "15555550100"


class RealLine:
    """One FreeSWITCH for the whole run and a relay in front of the benchmark servers."""

    def __init__(self, prefix: Path, workdir: Path) -> None:
        if sipp.SIPP is None:
            raise SystemExit("--freeswitch needs SIPp (Debian package sip-tester)")
        if not (prefix / ".callbridge-build-stamp").is_file():
            raise SystemExit(f"--freeswitch {prefix}: no finished build of docker/build-freeswitch.sh there")
        self.workdir = workdir
        relay_port = free_port()
        self.switch = RealSwitch(prefix, workdir / "freeswitch", Ports.allocate(relay_port))
        self.relay = Tap(relay_port, 0, workdir / "esl")

    @property
    def esl_settings(self) -> list[str]:
        """``bench/call_server.py`` arguments pointing a server's event socket client at this switch."""
        return [f"--set=esl_port={self.switch.ports.esl}", f"--set=esl_password={self.switch.esl_password}"]

    def start(self) -> None:
        (self.workdir / "freeswitch").mkdir(parents=True, exist_ok=True)
        self.switch.start()
        self.relay.start()

    def stop(self) -> None:
        """Stop the relay and the switch; a switch slow to exit is killed (its figures are already taken)."""
        self.relay.stop()
        try:
            self.switch.stop()
        except SwitchFailed as failed:
            print(f"FreeSWITCH did not stop cleanly, killed: {str(failed).splitlines()[0]}", flush=True)
            if self.switch.process is not None:
                self.switch.process.kill()

    def call(
        self, controller_port: int, call_log: CallLog, caller_wav: Path, timeout_s: float, number: int = 0
    ) -> str | None:
        """One SIPp call to the DID from caller ``1555<2000000 + number>``, answered by the server on
        ``controller_port``, waited for to its end; its uuid, found by that caller number in the server's
        call log (None: it never reached the server; SIPp's output is in the workdir). Calls to one server
        may run at once (from greenlets: SIPp is waited for in gevent's thread pool)."""
        self.relay.target_port = controller_port
        caller = f"1555{2000000 + number}"
        result = sipp.call(
            self.workdir / f"sipp-{caller}",
            number=DID,
            port=self.switch.ports.external_sip,
            caller=caller,
            audio_wav=caller_wav,
            timeout_s=timeout_s,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = [
                row.uuid for row in call_log.recent_calls(200) if (row.caller or "").lstrip("+") == caller
            ]
            if found:
                return found[0]
            gevent.sleep(0.2)
        print(
            f"real FreeSWITCH call from {caller} reached no server (SIPp exit {result.returncode})",
            flush=True,
        )
        return None

    def switch_pid(self) -> int:
        """FreeSWITCH's process, to measure its CPU apart from the server's."""
        assert self.switch.process is not None
        return self.switch.process.pid
