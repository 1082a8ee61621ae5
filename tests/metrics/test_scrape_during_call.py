"""Scrape /metrics while a stand-in call runs through the real controller, worker, Piper and call log."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest

from app.config import Settings, load_settings
from app.demo import make_caller_wav
from app.metrics import MetricsServer
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.wiring import Stack
from tests.metrics.scrape import http_get, samples, value

SHORT_FLOW = Path(__file__).resolve().parent.parent / "integration" / "data" / "short.yaml"
Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings(
        {
            "CALLBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
            "CALLBRIDGE_SPOOL_DIR": str(tmp_path / "spool"),
            "CALLBRIDGE_FLOW": str(SHORT_FLOW),
            "CALLBRIDGE_GOODBYE_TEXT": "Bye.",
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "6",
            "CALLBRIDGE_MAX_NO_INPUT": "1",
        }
    )
    return base.model_copy(update={"controller_port": 0, "media_port": 0})


@pytest.fixture
def running(settings: Settings, tmp_path: Path) -> Iterator[tuple[Stack, FakeSwitch, MetricsServer]]:
    upgrade(settings.database_url)
    stack = Stack.build(settings)
    metrics = MetricsServer(
        "127.0.0.1", 0, {"controller": lambda: stack.outbound is not None and stack.outbound.ready.is_set()}
    )
    metrics.start()
    (tmp_path / "recordings").mkdir()
    switch = FakeSwitch(password=secrets.token_hex(8), recordings_dir=tmp_path / "recordings")
    switch.start()
    yield stack, switch, metrics
    switch.stop()
    stack.stop()
    metrics.stop()


def scrape(metrics: MetricsServer) -> Scraped:
    status, body = http_get(f"http://127.0.0.1:{metrics.port}/metrics")
    assert status == 200
    return samples(body)


def wait_for(metrics: MetricsServer, condition: object, timeout: float) -> Scraped:
    """Scrape until ``condition(scraped)`` holds; the last scrape either way."""
    assert callable(condition)
    deadline = gevent.get_hub().loop.now() + timeout
    scraped = scrape(metrics)
    while not condition(scraped) and gevent.get_hub().loop.now() < deadline:
        gevent.sleep(0.05)
        scraped = scrape(metrics)
    return scraped


def test_metrics_follow_a_call_with_speech(
    running: tuple[Stack, FakeSwitch, MetricsServer], tmp_path: Path
) -> None:
    stack, switch, metrics = running
    assert http_get(f"http://127.0.0.1:{metrics.port}/readyz")[0] == 503  # controller not started yet
    stack.start(advertise_bound_media=True)
    assert http_get(f"http://127.0.0.1:{metrics.port}/readyz")[0] == 200
    caller = make_caller_wav(
        ((2.8, "I would like to book an appointment."),), tmp_path / "caller.wav", tail_s=8
    )
    before = scrape(metrics)
    sip = {"call_type": "sip"}

    call = switch.place_call(
        destination="+15557654321",
        socket=f"127.0.0.1:{stack.controller_port} async full",
        variables={"call_type": "sip"},
        caller_audio=caller,
        rate=8000,
    )
    during = wait_for(
        metrics,
        lambda s: (
            value(s, "callbridge_active_calls", **sip) > value(before, "callbridge_active_calls", **sip)
            and value(s, "callbridge_worker_streams") > value(before, "callbridge_worker_streams")
        ),
        timeout=20,
    )
    assert (
        value(during, "callbridge_active_calls", **sip) == value(before, "callbridge_active_calls", **sip) + 1
    )
    assert value(during, "callbridge_worker_streams") == value(before, "callbridge_worker_streams") + 1

    assert call.wait_ended(40)
    assert stack.controller_finished(call.uuid, timeout=10)
    after = wait_for(
        metrics,
        lambda s: value(s, "callbridge_worker_streams") == value(before, "callbridge_worker_streams"),
        timeout=10,
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "callbridge_active_calls", **sip) == value(before, "callbridge_active_calls", **sip)
    assert delta("callbridge_calls_total", **sip, outcome="ended", cause="NORMAL_CLEARING") == 1
    turns = stack.call_log.turns(call.uuid)
    replies = [t for t in turns if t.speaker == "agent" and (t.timings or {}).get("trigger") == "utterance"]
    assert replies, [(t.speaker, t.text, t.timings) for t in turns]
    latency = "callbridge_turn_latency_seconds_count"
    assert delta(latency, **sip, trigger="utterance", stage="voice_to_voice") == len(replies)
    assert delta(latency, **sip, trigger="utterance", stage="server") == len(replies)
    assert delta(latency, **sip, trigger="call_started", stage="voice_to_voice") == 1
    assert delta("callbridge_stt_seconds_count", engine=stack_engine(stack)) >= 1
    assert delta("callbridge_stt_audio_seconds_total", engine=stack_engine(stack)) > 1.0
    assert delta("callbridge_vad_windows_total") > 100  # ~20 s of 8 kHz audio in 256-sample windows
    assert delta("callbridge_vad_batch_seconds_count") >= 1


def stack_engine(stack: Stack) -> str:
    worker = stack.media.factory  # type: ignore[attr-defined]
    return str(worker.recognizer.name)
