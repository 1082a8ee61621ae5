"""Contract tests: one set of call scenarios, run against the stand-in and against FreeSWITCH 1.10.12.

Every test here takes ``line`` and runs twice: ``[stand-in]`` always, ``[freeswitch]`` when the run has a
real build (``--freeswitch PREFIX`` or ``CALLBRIDGE_TEST_FREESWITCH``; otherwise it is skipped, saying how
to build one). Where the two disagree the real switch is right, and the stand-in is what gets fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app.store import upgrade
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack
from tests.contract.lines import Line, RealSwitchLine, StandInLine
from tests.stack import stack_settings

DATA = Path(__file__).resolve().parent / "data"
RATE = 8000


@pytest.fixture(
    params=[
        pytest.param("stand-in", id="stand-in"),
        pytest.param("freeswitch", id="freeswitch", marks=pytest.mark.realswitch),
    ]
)
def line(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Line]:
    """The switch this run of the test answers on."""
    chosen: Line
    if request.param == "stand-in":
        chosen = StandInLine(request.getfixturevalue("switch"))
    else:
        chosen = RealSwitchLine(request.getfixturevalue("real_switch"), tmp_path / "freeswitch")
    yield chosen
    chosen.close()


AnswerWith = Callable[..., Stack]


@pytest.fixture
def answer_with(line: Line, tmp_path: Path) -> Iterator[AnswerWith]:
    """``answer_with(flow, **settings)``: a stack as ``callbridge serve`` runs it, answering ``line``'s calls."""
    started: list[Stack] = []

    def build(flow: Path, **variables: str) -> Stack:
        settings = line.settings(stack_settings(tmp_path, flow, **variables))
        upgrade(settings.database_url)
        stack = Stack.build(settings)
        stack.start(advertise_bound_media=True)
        started.append(stack)
        line.route_to(stack)
        return stack

    yield build
    for stack in started:
        stack.stop(grace=5)


@pytest.fixture(scope="session")
def speak() -> Callable[..., Path]:
    """``speak(path, (seconds, text), ...)``: a caller's WAV at 8 kHz, each line of Piper speech starting at
    its second, then 20 s of silence so RTP keeps flowing as a phone's does."""

    tts: list[PiperTTS] = []

    def render(path: Path, *lines: tuple[float, str]) -> Path:
        if lines and not tts:
            tts.append(PiperTTS())
        pieces = [(round(at * RATE), tts[0].synthesize(text).resampled(RATE).samples) for at, text in lines]
        length = max((start + len(samples) for start, samples in pieces), default=0) + 20 * RATE
        out = np.zeros(length, dtype=np.int16)
        for start, samples in pieces:
            out[start : start + len(samples)] = samples
        write_wav(path, Audio(out, RATE))
        return path

    return render
