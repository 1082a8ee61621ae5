"""The reference echo gate: the agent's own voice coming back never counts as the caller's speech."""

from __future__ import annotations

import wave
from pathlib import Path

import gevent
import numpy as np
import pytest

from app.domain import CallType
from app.media.echo import EchoConfig, EchoGate, reference_levels, wav_reference_levels
from app.media.wire import StreamMetadata
from app.vad.silero import SileroModel
from tests.media.speech import piper
from tests.media.test_pipeline import CALL, Collector, ScriptedEngine, worker

RATE = 8000
WINDOW = 256  # Silero's window at 8 kHz


def syllables(seconds: float, seed: int, level: float = 0.25) -> np.ndarray:
    """Speech-like bursts: noise syllables of 80-250 ms with 40-160 ms gaps."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * RATE))
    at = 0
    while at < len(out):
        length = int(rng.uniform(0.08, 0.25) * RATE)
        envelope = np.hanning(length) * rng.uniform(0.4, 1.0) * level * 32767
        out[at : at + length] = (rng.standard_normal(length) * envelope)[: len(out) - at]
        at += length + int(rng.uniform(0.04, 0.16) * RATE)
    return out


def scaled(samples: np.ndarray, gain_db: float) -> np.ndarray:
    return samples * 10 ** (gain_db / 20)


def as_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(samples, -32768, 32767).astype(np.int16)


def run_gate(gate: EchoGate, line: np.ndarray, *, speaking_from: int | None = None) -> np.ndarray:
    """Whether each window of ``line`` is echo (the caller counts as speaking from ``speaking_from``)."""
    verdicts = []
    for start in range(0, len(line) - WINDOW + 1, WINDOW):
        speaking = speaking_from is not None and start >= speaking_from
        verdicts.append(gate.is_echo(start, line[start : start + WINDOW], speaking=speaking))
    return np.array(verdicts)


def test_reference_levels_are_the_power_of_each_20_ms_in_dbfs() -> None:
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)).astype(np.int16)
    levels = reference_levels(np.concatenate([tone, np.zeros(RATE // 2, np.int16)]), RATE)
    assert len(levels) == 75
    assert all(v == -9 for v in levels[:50])  # a sine's power is A^2/2: 0.125 -> -9.03 dB
    assert all(v == -90 for v in levels[50:])


def test_a_wav_file_gives_the_same_levels(tmp_path: Path) -> None:
    samples = as_int16(syllables(1.0, seed=4))
    path = tmp_path / "say.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    assert wav_reference_levels(path) == reference_levels(samples, RATE)


@pytest.mark.parametrize(("gain_db", "delay_ms"), [(-10, 0), (-10, 80), (-6, 240), (-10, 440), (-20, 120)])
def test_echo_alone_is_always_gated_and_the_line_is_learnt(gain_db: float, delay_ms: int) -> None:
    agent = syllables(6.0, seed=1)
    line = np.zeros(len(agent) + RATE)
    delay = delay_ms * RATE // 1000
    line[delay : delay + len(agent)] += scaled(agent, gain_db)
    line += np.random.default_rng(2).standard_normal(len(line)) * 20
    gate = EchoGate(RATE)
    gate.queue("say:1", reference_levels(as_int16(agent), RATE), 0)
    gate.started("say:1", 0)
    verdicts = run_gate(gate, as_int16(line))
    echo_windows = [
        i for i in range(len(verdicts)) if np.abs(line[i * WINDOW : (i + 1) * WINDOW]).max() > 300
    ]
    assert echo_windows and verdicts[echo_windows].all()
    assert gate.delay_ms is not None and abs(gate.delay_ms - delay_ms) <= 40
    assert abs(gate.gain_db - gain_db) <= 3


def test_a_caller_talking_over_the_echo_gets_through() -> None:
    agent = syllables(6.0, seed=1)
    caller = syllables(2.0, seed=7)
    line = np.zeros(len(agent))
    line[640:] += scaled(agent, -10)[: len(agent) - 640]
    at = 3 * RATE
    line[at : at + len(caller)] += caller  # as loud as the agent
    gate = EchoGate(RATE)
    gate.queue("say:1", reference_levels(as_int16(agent), RATE), 0)
    gate.started("say:1", 0)
    before = run_gate(gate, as_int16(line[:at]))
    echo_windows = [i for i in range(len(before)) if np.abs(line[i * WINDOW : (i + 1) * WINDOW]).max() > 300]
    assert len(echo_windows) > 50 and before[echo_windows].all()
    first_window = -(-at // WINDOW)
    verdicts = []
    onset = None
    for i in range(first_window, (at + len(caller)) // WINDOW):
        verdict = gate.is_echo(
            i * WINDOW, as_int16(line[i * WINDOW : (i + 1) * WINDOW]), speaking=onset is not None
        )
        if onset is None and not verdict:
            onset = i * WINDOW
        verdicts.append(verdict)
    assert onset is not None and onset - at <= 100 * RATE // 1000
    loud = [
        k
        for k, i in enumerate(range(first_window, (at + len(caller)) // WINDOW))
        if np.abs(caller[i * WINDOW - at : (i + 1) * WINDOW - at]).max() > 3000
    ]
    passed = 1 - np.array(verdicts)[loud].mean()
    assert passed >= 0.8, f"only {passed:.0%} of the caller's loud windows got through"


def test_without_a_reference_nothing_is_echo_and_after_a_stop_the_tail_only() -> None:
    agent = as_int16(syllables(2.0, seed=3))
    gate = EchoGate(RATE, EchoConfig(max_delay_ms=200))
    assert not run_gate(gate, agent).any()
    gate.queue("say:1", reference_levels(agent, RATE), 0)
    gate.started("say:1", 0)
    gate.stopped(RATE)  # broken after one second
    late = 2 * RATE  # a second after the stop, well past the longest echo delay
    assert not gate.is_echo(late, agent[:WINDOW]) and not gate.active


def test_a_paused_sentence_is_expected_again_only_after_the_resume() -> None:
    agent = syllables(4.0, seed=5)
    gate = EchoGate(RATE, EchoConfig(min_delay_ms=0, max_delay_ms=100))
    gate.queue("say:1", reference_levels(as_int16(agent), RATE), 0)
    gate.started("say:1", 0)
    gate.paused(RATE)  # one second played
    resume = 3 * RATE
    loud = as_int16(scaled(np.ones(WINDOW) * 3000, 0))
    # Paused: nothing plays, so even a window at the echo's level is speech.
    assert not gate.is_echo(2 * RATE, as_int16(scaled(agent[RATE : RATE + WINDOW], -10)))
    gate.resumed(resume)
    rest_echo = as_int16(scaled(agent[RATE + 800 : RATE + 800 + WINDOW], -10))
    assert gate.is_echo(resume + 800, rest_echo)
    assert not gate.is_echo(resume + 800, loud * 4)


def test_queued_sentences_follow_each_other_until_freeswitch_says_where_they_start() -> None:
    first, second = syllables(1.0, seed=8), syllables(1.0, seed=9)
    gate = EchoGate(RATE, EchoConfig(min_delay_ms=0, max_delay_ms=60))
    gate.queue("say:1", reference_levels(as_int16(first), RATE), 0)
    gate.queue("say:2", reference_levels(as_int16(second), RATE), 0)
    window = as_int16(scaled(second[4000 : 4000 + WINDOW], -10))
    assert gate.is_echo(RATE + 4000, window)  # chained right after the first sentence
    gate.started("say:2", 2 * RATE)  # FreeSWITCH started it later than guessed
    assert not gate.is_echo(RATE + 4000, window)
    assert gate.is_echo(2 * RATE + 4000, window)


def feed_with_notices(
    listener: object, line: np.ndarray, notices: dict[int, list[dict[str, object]]]
) -> None:
    for start in range(0, len(line), 160):
        for notice in notices.get(start, []):
            listener.on_control(notice)  # type: ignore[attr-defined]
        listener.on_audio(line[start : start + 160])  # type: ignore[attr-defined]
        gevent.idle()


@pytest.mark.parametrize("caller_at", [None, 3.0])
def test_the_worker_hears_the_caller_over_the_agents_echo_and_never_the_echo(
    silero: SileroModel, caller_at: float | None
) -> None:
    """Real Silero VAD and Piper voices: the agent's sentence echoed at -10 dB, 80 ms late."""
    agent = piper().synthesize(
        "Thank you for calling. I can book an appointment, check on an order, or put you through to a person."
    )
    agent_samples = agent.resampled(RATE).samples
    caller = piper().synthesize("Sorry, I just want to book an appointment.").resampled(RATE).samples
    line = np.random.default_rng(1).standard_normal(len(agent_samples) + 3 * RATE) * 30
    line[RATE + 640 : RATE + 640 + len(agent_samples)] += scaled(agent_samples.astype(np.float64), -10)
    if caller_at is not None:
        at = int(caller_at * RATE)
        line[at : at + len(caller)] += caller
    levels = reference_levels(agent_samples, RATE)
    notices: dict[int, list[dict[str, object]]] = {
        RATE: [{"type": "playback", "on": True, "id": "say:1", "levels": levels}],
        RATE + 400: [{"type": "playback_started", "id": "say:1"}],  # the notice is 50 ms late
        RATE + len(agent_samples) + 400: [{"type": "playback", "on": False}],
    }
    speech = worker(silero, ScriptedEngine(streaming=False))
    sent = Collector(expect_utterances=1)
    listener = speech(StreamMetadata(CALL, CallType.SIP, RATE), sent)
    feed_with_notices(listener, as_int16(line), notices)
    if caller_at is None:
        gevent.sleep(0.5)
        assert sent.messages == []
    else:
        assert sent.done.wait(30)
        onset = sent.of("speech_onset")
        assert onset and 0 <= float(onset[0]["start_ms"]) - caller_at * 1000 <= 150  # type: ignore[arg-type]
        assert [m["type"] for m in sent.messages][:2] == ["speech_onset", "speech_started"]
    listener.on_end("test over")
    speech.stop()
