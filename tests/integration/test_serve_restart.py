"""`callbridge serve` killed mid-call (SIGKILL: nothing is drained or recorded) and started again.

The stand-in runs the shipped DID extension's shape (mark, ``socket``, ``park_timeout``, ``park``; checked
against dialplan/ by tests/config). The second process takes the parked call back by itself at start-up
(app/serve.py: show channels, callbridge_owned, uuid_transfer) and the short flow goes on at the question
it had asked: with no answer from the caller, its no-input path ends the call ("Bye."), where a flow
started afresh would have asked "Say something." again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gevent

from app.control.resume import RESUME_LINE
from app.sim.switch import FakeSwitch
from app.store import CallLog
from tests.integration.conftest import SHORT_FLOW
from tests.integration.test_serve import free_port, wait_exit, wait_ready

DID = "15557654321"


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.1)


def _serve(env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen[str]:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_a_killed_serve_started_again_takes_the_parked_call_back(switch: FakeSwitch, tmp_path: Path) -> None:
    controller, media, metrics = free_port(), free_port(), free_port()
    database = f"sqlite:///{tmp_path / 'calls.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    env.update(
        {
            "CALLBRIDGE_ESL_PORT": str(switch.esl_port),
            "CALLBRIDGE_ESL_PASSWORD": switch.password,
            "CALLBRIDGE_DATABASE_URL": database,
            "CALLBRIDGE_CONTROLLER_PORT": str(controller),
            "CALLBRIDGE_MEDIA_PORT": str(media),
            "CALLBRIDGE_MEDIA_URL": f"ws://127.0.0.1:{media}",
            "CALLBRIDGE_METRICS_PORT": str(metrics),
            "CALLBRIDGE_WEB_ENABLED": "false",
            "CALLBRIDGE_FLOW": str(SHORT_FLOW),
            "CALLBRIDGE_SPOOL_DIR": str(tmp_path / "spool"),
            "CALLBRIDGE_CALL_LOG_SPOOL_PATH": str(tmp_path / "call-log-spool.db"),
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "300",  # the first process never times the caller out
            "CALLBRIDGE_MAX_NO_INPUT": "1",
        }
    )
    # A generous park timeout: this test is about serve's wiring, not how fast a process starts here.
    switch.dialplan.add(
        "public",
        rf"^\+?{DID}$",
        [
            ("set", "call_type=sip"),
            ("set", "callbridge_direction=inbound"),
            ("set", "callbridge_owned=true"),
            ("socket", f"127.0.0.1:{controller} async full"),
            ("set", "park_timeout=180:NORMAL_TEMPORARY_FAILURE"),
            ("park", ""),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ],
    )
    first = _serve(env, tmp_path / "serve-1.log", tmp_path)
    second: subprocess.Popen[str] | None = None
    call_log: CallLog | None = None
    try:
        ready = wait_ready(f"http://127.0.0.1:{metrics}/readyz", first, timeout=90)
        assert ready, (tmp_path / "serve-1.log").read_text()[-3000:]
        call_log = CallLog.open(database)
        call = switch.place_call(destination=DID, context="public")

        def agent_said() -> list[str]:
            assert call_log is not None
            return [t.text for t in call_log.turns(call.uuid) if t.speaker == "agent"]

        _until(lambda: agent_said() == ["Hello. Say something."], 60, "the greeting's turn")
        first.send_signal(signal.SIGKILL)  # a crash: nothing drained, nothing more recorded
        assert wait_exit(first, 30) == -signal.SIGKILL
        _until(lambda: switch.channels[call.uuid].get_var("current_application") == "park", 30, "the park")
        env["CALLBRIDGE_NO_INPUT_TIMEOUT"] = "2.5"  # now the silent caller's no-input path ends the call
        second = _serve(env, tmp_path / "serve-2.log", tmp_path)
        assert call.wait_ended(150), (tmp_path / "serve-2.log").read_text()[-3000:]
        assert call.hangup_cause == "NORMAL_CLEARING"
        _until(lambda: (call_log.get_call(call.uuid) or _NOT_YET).state == "ended", 30, "the record's end")
        second.send_signal(signal.SIGTERM)
        assert wait_exit(second, 30) == 0, (tmp_path / "serve-2.log").read_text()[-3000:]
        assert agent_said() == ["Hello. Say something.", RESUME_LINE, "Bye."]
        events = [e.name for e in call_log.events(call.uuid)]
        assert events.count("reattached") == 1 and "controller_shutdown" not in events
        assert events.count("audio_stream_connected") == 2
        assert "parked call taken back" in (tmp_path / "serve-2.log").read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        if call_log is not None:
            call_log.close()


class _NotYet:
    state = "not recorded"


_NOT_YET = _NotYet()
