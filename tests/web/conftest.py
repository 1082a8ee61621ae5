"""Browser tests: headless Chromium (Debian's package) driven by Playwright, against the stand-in."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.sim.switch import FakeSwitch
from app.sim.verto import VertoEndpoint
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.web.server import PageConfig, WebApp, WebServer
from app.wiring import Stack
from tests.stack import stack_settings

HERE = Path(__file__).resolve().parent
FLOW = HERE / "data" / "ask.yaml"
ARTIFACTS = HERE / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")

QUESTION = "I would like to book a table for two people tonight."
QUESTION_AT_S = 7.0
"""When the fake microphone asks (after the greeting and the prompt have played)."""


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; its absence is a failure, not a skip (CI installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only the browser tests need it
    except ImportError:
        pytest.fail("the Playwright driver is missing: `pip install -e '.[test]'`", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def microphone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake microphone: silence while the agent greets, then the question (Piper), then silence."""
    rate = 16000
    speech = PiperTTS().synthesize(QUESTION).resampled(rate).samples
    track = np.concatenate(
        [np.zeros(int(QUESTION_AT_S * rate), np.int16), speech, np.zeros(40 * rate, np.int16)]
    )
    path = tmp_path_factory.mktemp("microphone") / "question.wav"
    write_wav(path, Audio(track, rate))
    return path


@pytest.fixture
def artifacts() -> Path:
    """Screenshots kept after the run (the directory is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return stack_settings(tmp_path, FLOW, no_input_timeout="30", max_no_input="1")


@pytest.fixture
def verto_password() -> str:
    return secrets.token_urlsafe(12)


@pytest.fixture
def verto(switch: FakeSwitch, stack: Stack, verto_password: str) -> Iterator[VertoEndpoint]:
    endpoint = VertoEndpoint(
        switch,
        users={"1000": verto_password},
        socket_target=f"127.0.0.1:{stack.controller_port} async full",
        extension="8000",
    )
    endpoint.start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def web(verto: VertoEndpoint, stack: Stack) -> Iterator[WebServer]:
    config = PageConfig(verto_url=verto.url, login="1000@127.0.0.1", extension="8000")
    server = WebServer(WebApp(config, stack.call_log, "/phone"), "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser_profile(tmp_path: Path) -> Iterator[Path]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    yield profile
    shutil.rmtree(profile, ignore_errors=True)
