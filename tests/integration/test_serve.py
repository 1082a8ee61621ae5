"""`callbridge serve` as an admin runs it: a separate, gevent-patched process against "FreeSWITCH"."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import gevent

from app.sim.switch import FakeSwitch
from app.store import CallLog
from tests.integration.conftest import SHORT_FLOW
from tests.metrics.scrape import http_get


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[str], timeout: float) -> bool:
    deadline = gevent.get_hub().loop.now() + timeout
    while gevent.get_hub().loop.now() < deadline and process.poll() is None:
        try:
            if http_get(url, timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        gevent.sleep(0.2)
    return False


def wait_exit(process: subprocess.Popen[str], timeout: float) -> int | None:
    deadline = gevent.get_hub().loop.now() + timeout
    while process.poll() is None and gevent.get_hub().loop.now() < deadline:
        gevent.sleep(0.1)
    return process.poll()


def test_serve_answers_a_call_reports_ready_and_stops_cleanly(
    switch: FakeSwitch, caller_wav: Path, tmp_path: Path
) -> None:
    controller, media, metrics = free_port(), free_port(), free_port()
    database = f"sqlite:///{tmp_path / 'calls.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
    env.update({
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
        "CALLBRIDGE_NO_INPUT_TIMEOUT": "2.5",
        "CALLBRIDGE_MAX_NO_INPUT": "1",
    })
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=tmp_path, env=env, stdout=log,
                               stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_ready(f"http://127.0.0.1:{metrics}/readyz", process, timeout=90), (tmp_path / "serve.log").read_text()[-3000:]
        call = switch.place_call(
            destination="+15557654321",
            caller_id_number="+15551230000",
            socket=f"127.0.0.1:{controller} async full",
            variables={"call_type": "sip"},
            caller_audio=caller_wav,
        )
        assert call.wait_ended(60)
        process.send_signal(signal.SIGTERM)
        assert wait_exit(process, 30) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
        log.close()

    call_log = CallLog.open(database)
    try:
        record = call_log.get_call(call.uuid)
        assert record is not None and record.state == "ended" and record.hangup_cause == "NORMAL_CLEARING"
        agent = [t.text for t in call_log.turns(call.uuid) if t.speaker == "agent"]
        assert agent == ["Hello. Say something.", "Bye."]
    finally:
        call_log.close()
    assert f"call {call.uuid}" in (tmp_path / "serve.log").read_text()  # logs name the call
