"""Headless Chromium placing one call from the page Callbridge serves (app/web), driven by Playwright.

As in tests/web, Playwright's sync API runs its own event loop, so :func:`call_the_agent` is meant to
run in a native thread (gevent's threadpool) while the test's gevent hub keeps the stack running. The
page is served from ``http://127.0.0.1``, where browsers allow both the microphone and plain ``ws://``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
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
STEP_TIMEOUT_MS = 20_000


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only the browser tests need it
    except ImportError:
        return "the Playwright driver is missing (pip install -e '.[test]')"
    return None


@dataclass
class PageCall:
    """What the page saw of one call."""

    call_id: str = ""
    answered_state: str = ""
    agent_spoke: bool = False
    final_state: str = ""
    error_text: str = ""
    inbound_packets: int = 0
    inbound_audio_energy: float = 0.0
    inbound_codec: str = ""
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


# Kept up to date in the page every 200 ms: the call's peer connection is gone once the call ends.
WATCH_INBOUND_JS = """() => {
  window.inboundAudio = {packets: 0, energy: 0, codec: ''};
  setInterval(async () => {
    if (!callbridgePhone.pc) return;
    const stats = await callbridgePhone.pc.getStats();
    const codecs = new Map();
    stats.forEach((report) => { if (report.type === 'codec') codecs.set(report.id, report.mimeType); });
    stats.forEach((report) => {
      if (report.type !== 'inbound-rtp' || report.kind !== 'audio') return;
      window.inboundAudio = {
        packets: report.packetsReceived || 0,
        energy: report.totalAudioEnergy || 0,
        codec: codecs.get(report.codecId) || '',
      };
    });
  }, 200);
}"""


def call_the_agent(url: str, password: str, microphone: Path, profile: Path) -> PageCall:
    """Open the page, log in and call; wait for the answer and the agent's voice, then for the end.

    The agent ends the call (the flow says goodbye and hangs up): the page's final state comes from
    the server's ``verto.bye``.
    """
    from playwright.sync_api import Error, sync_playwright  # noqa: PLC0415

    run = PageCall()
    profile.mkdir(parents=True, exist_ok=True)
    flags = [*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={microphone}%noloop"]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=flags, headless=True,
            ignore_default_args=["--mute-audio"],
        )  # fmt: skip
        page = context.new_page()
        try:
            page.on("console", lambda message: run.console.append(f"{message.type}: {message.text}"))
            page.goto(url)
            page.wait_for_function("window.callbridgePhone && callbridgePhone.config !== null")
            page.evaluate(WATCH_INBOUND_JS)
            page.fill("#password", password)
            page.click("#call")
            page.wait_for_function(
                "['listening', 'agent-speaking', 'failed', 'ended'].includes(callbridgePhone.state)",
                timeout=STEP_TIMEOUT_MS,
            )
            run.answered_state = page.evaluate("callbridgePhone.state")
            run.call_id = page.evaluate("callbridgePhone.callID") or ""
            if run.answered_state in ("listening", "agent-speaking"):
                page.wait_for_function(
                    "callbridgePhone.agentSpoke || ['failed', 'ended'].includes(callbridgePhone.state)",
                    timeout=STEP_TIMEOUT_MS,
                )
                run.agent_spoke = bool(page.evaluate("callbridgePhone.agentSpoke"))
                page.wait_for_function(
                    "['failed', 'ended'].includes(callbridgePhone.state)", timeout=STEP_TIMEOUT_MS
                )
        except Error as exc:
            run.errors.append(f"playwright: {exc}")
        finally:
            try:
                run.final_state = page.evaluate("callbridgePhone.state")
                run.error_text = page.inner_text("#error")
                run.errors += page.evaluate("callbridgePhone.errors")
                inbound = page.evaluate("window.inboundAudio || {}")
                run.inbound_packets = int(inbound.get("packets", 0))
                run.inbound_audio_energy = float(inbound.get("energy", 0))
                run.inbound_codec = str(inbound.get("codec", ""))
            finally:
                context.close()
                shutil.rmtree(profile, ignore_errors=True)
    return run
