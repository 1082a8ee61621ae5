"""A real browser calls the agent: Chromium -> Verto/WebRTC (stand-in) -> controller -> worker -> Piper.

Playwright's sync API runs its own event loop, so the browser is driven from a native thread (gevent's
threadpool) while this thread's gevent hub keeps the stand-in, the controller and the worker running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from app.sim.switch import FakeSwitch
from app.sim.verto import VertoEndpoint
from app.web.server import WebServer
from app.wiring import Stack

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
STEP_TIMEOUT_MS = 30_000


@dataclass
class BrowserRun:
    """What the browser saw."""

    call_id: str = ""
    states: list[str] = field(default_factory=list)
    agent_spoke: bool = False
    caller_line: str = ""
    agent_line_after: str = ""
    latency_text: str = ""
    final_state: str = ""
    errors: list[str] = field(default_factory=list)
    inbound_audio_energy: float = 0.0
    screenshot: Path | None = None


def drive_browser(
    chromium: Path, profile: Path, microphone: Path, url: str, password: str, screenshot: Path, on_answer: Any
) -> BrowserRun:
    """Open the page, call, wait for the greeting, the transcript and the answer, press 5, hang up."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - the browser tests' own dependency

    run = BrowserRun()
    flags = [*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={microphone}%noloop"]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium),
            args=flags,
            headless=True,
            ignore_default_args=["--mute-audio"],
        )
        try:
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    run.errors.append(f"console {message.type}: {message.text}")
                    if message.type == "error"
                    else None
                ),
            )
            page.goto(url)
            page.wait_for_function("window.callbridgePhone && callbridgePhone.config !== null")
            page.fill("#password", password)
            page.click("#call")
            page.wait_for_function(
                "callbridgePhone.state === 'listening' || callbridgePhone.state === 'agent-speaking'"
                " || callbridgePhone.state === 'failed'",
                timeout=STEP_TIMEOUT_MS,
            )
            run.call_id = page.evaluate("callbridgePhone.callID") or ""
            on_answer(run.call_id)
            page.wait_for_function(
                "callbridgePhone.agentSpoke || callbridgePhone.state === 'failed'", timeout=STEP_TIMEOUT_MS
            )
            run.agent_spoke = bool(page.evaluate("callbridgePhone.agentSpoke"))
            caller = page.wait_for_selector("#transcript li[data-speaker=caller]", timeout=STEP_TIMEOUT_MS)
            run.caller_line = caller.inner_text() if caller else ""
            after = page.wait_for_selector(
                "#transcript li[data-speaker=caller] ~ li[data-speaker=agent]", timeout=STEP_TIMEOUT_MS
            )
            run.agent_line_after = after.inner_text() if after else ""
            page.wait_for_selector("#latency:not([hidden])", timeout=STEP_TIMEOUT_MS)
            run.latency_text = page.inner_text("#latency")
            run.inbound_audio_energy = float(page.evaluate(INBOUND_ENERGY_JS))
            page.screenshot(path=str(screenshot), full_page=True)
            run.screenshot = screenshot
            page.click("#keypad >> text=5")
            page.click("#hangup")
            page.wait_for_function(
                "callbridgePhone.state === 'ended' || callbridgePhone.state === 'failed'",
                timeout=STEP_TIMEOUT_MS,
            )
            run.final_state = page.evaluate("callbridgePhone.state")
            run.errors += page.evaluate("callbridgePhone.errors")
        finally:
            context.close()
    return run


INBOUND_ENERGY_JS = """async () => {
  let energy = 0;
  if (!callbridgePhone.pc) return energy;
  (await callbridgePhone.pc.getStats()).forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'audio') energy += report.totalAudioEnergy || 0;
  });
  return energy;
}"""


def test_browser_talks_to_the_agent_over_webrtc(
    chromium: Path,
    browser_profile: Path,
    microphone_wav: Path,
    artifacts: Path,
    stack: Stack,
    switch: FakeSwitch,
    verto: VertoEndpoint,
    web: WebServer,
    verto_password: str,
) -> None:
    answered: list[str] = []
    pool = gevent.get_hub().threadpool
    run: BrowserRun = pool.spawn(
        drive_browser,
        chromium,
        browser_profile,
        microphone_wav,
        web.url,
        verto_password,
        artifacts / "webrtc-call.png",
        answered.append,
    ).get(timeout=110)

    assert run.call_id and answered == [run.call_id], run
    # the agent greeted: its audio reached the browser through WebRTC
    assert run.agent_spoke, run
    assert run.inbound_audio_energy > 0, run
    # the spoken question got a transcript, and an answer after it, with a turn latency
    assert set(words(run.caller_line)) & {"book", "table", "two", "people", "tonight"}, run
    assert "heard you" in run.agent_line_after.lower(), run
    assert re.search(r"\d+\s*ms", run.latency_text), run
    assert run.screenshot is not None and run.screenshot.stat().st_size > 0
    assert run.final_state == "ended", run

    call = switch.find_call(run.call_id)
    assert call is not None and call.wait_ended(10)
    assert call.variables["call_type"] == "webrtc"
    assert call.channel.profile.source == "mod_verto"
    assert "5" in call.variables.get("digits_dialed", "")
    assert stack.controller_finished(run.call_id, timeout=10)
    record = stack.call_log.get_call(run.call_id)
    assert record is not None
    assert record.call_type == "webrtc"
    assert record.state == "ended"
    # the browser's microphone reached the worker over uuid_audio_stream, at the WebRTC rate
    report = stack.reports.get(run.call_id)
    assert report is not None and report.call_type == "webrtc" and report.rate == 16000
    assert report.peak > 1000, report
    peer = verto.peers[run.call_id]
    assert peer.agent_track.sent_audible_frames > 50


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())
