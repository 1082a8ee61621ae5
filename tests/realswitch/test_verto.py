"""A browser calls the agent through the real mod_verto: Chromium -> Verto/WebRTC -> dialplan -> controller.

The page is the one ``callbridge serve`` serves (app/web), on ``http://127.0.0.1``. It logs in to the
shipped Verto profile's plain ``ws://`` binding: not a test-only variant, ``verto.conf.xml`` binds it for
development on this machine (``FREESWITCH_VERTO_WS_IP``, 127.0.0.1 by default; the harness only picks a free
port), and a page on ``http://127.0.0.1`` may open ``ws://`` and use the microphone, so no certificate is
involved. (The WSS binding runs too, on the self-signed certificate FreeSWITCH made for itself at start-up;
a browser would have to be told to ignore certificate errors to use it, which tests Chromium, not us.)
The default context's ``source=mod_verto`` extension sets ``call_type=webrtc`` and runs ``socket`` to the
controller; the agent greets (DTLS-SRTP, Opus), says goodbye after no input and hangs up (``verto.bye``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gevent
import numpy as np
import pytest

from app.tts.base import Audio, write_wav
from app.web.server import PageConfig, WebApp, WebServer
from app.wiring import Stack
from tests.realswitch import browser
from tests.realswitch.harness import LOOPBACK, RealSwitch
from tests.realswitch.tap import Tap, joined
from tests.realswitch.waits import only_call

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))

AGENT_EXTENSION = "8000"  # FREESWITCH_AGENT_EXTENSION's default, which the harness keeps


@pytest.fixture
def page(real_switch: RealSwitch, real_stack: Stack) -> Iterator[WebServer]:
    """The phone page, pointed at the switch's plain Verto WebSocket, reading this stack's call log."""
    config = PageConfig(
        verto_url=f"ws://{LOOPBACK}:{real_switch.ports.verto_ws}",
        login=f"1000@{LOOPBACK}",  # FREESWITCH_USER @ FREESWITCH_DOMAIN
        extension=AGENT_EXTENSION,
    )
    server = WebServer(WebApp(config, real_stack.call_log, "/phone"), LOOPBACK, 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def quiet_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chromium's fake microphone: 40 s of silence (still sent as Opus frames): the caller never speaks."""
    path = tmp_path_factory.mktemp("microphone") / "quiet.wav"
    write_wav(path, Audio(np.zeros(40 * 16000, dtype=np.int16), 16000))
    return path


def test_a_browser_call_through_mod_verto_reaches_the_agent_as_webrtc(
    real_switch: RealSwitch,
    real_stack: Stack,
    tap: Tap,
    page: WebServer,
    quiet_microphone: Path,
    tmp_path: Path,
) -> None:
    run: browser.PageCall = (
        gevent.get_hub()
        .threadpool.spawn(
            browser.call_the_agent,
            page.url,
            real_switch.user_password,
            quiet_microphone,
            tmp_path / "chromium",
        )
        .get(timeout=90)
    )
    assert run.answered_state in ("listening", "agent-speaking"), run
    # The greeting reached the browser as Opus, and the page saw the agent speak.
    assert run.inbound_codec == "audio/opus" and run.inbound_packets > 50, run
    assert run.agent_spoke and run.inbound_audio_energy > 0, run
    assert run.final_state == "ended" and run.error_text == "", run  # the server's verto.bye

    record = only_call(real_stack.call_log)
    assert record.uuid == run.call_id  # mod_verto makes the page's callID the channel uuid
    assert real_stack.controller_finished(record.uuid, timeout=10)
    assert (record.direction, record.call_type, record.state) == ("inbound", "webrtc", "ended")
    assert record.callee == AGENT_EXTENSION and record.answered_at is not None
    assert record.hangup_cause == "NORMAL_CLEARING" and record.billsec is not None
    turns = real_stack.call_log.turns(record.uuid)
    assert [(t.speaker, t.text, t.interrupted) for t in turns] == [
        ("agent", "Hello. Say something.", False),
        ("agent", "Bye.", False),
    ]
    assert all(t.heard_ms and t.heard_ms > 300 for t in turns)
    report = real_stack.reports.get(record.uuid)
    assert report is not None and report.call_type == "webrtc" and report.rate == 16000
    assert report.seconds > 2.0  # the browser's microphone reached the worker through mod_audio_stream

    (transcript,) = tap.transcripts
    received = joined(transcript, "received")
    connect_reply = received.split("\n\n", 1)[0]
    for header in ("Channel-Name: verto.rtc/8000", "Caller-Source: mod_verto", "variable_call_type: webrtc"):
        assert header in connect_reply, (header, connect_reply)
