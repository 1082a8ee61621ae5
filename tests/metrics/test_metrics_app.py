"""The metrics WSGI app and the reporting functions, without a call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import metrics
from app.metrics import MetricsServer
from tests.metrics.scrape import http_get, samples, value


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    state = {"ready": False}
    srv = MetricsServer("127.0.0.1", 0, {"model": lambda: state["ready"], "always": lambda: True})
    srv.start()
    srv.ready_flag = state  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def base(server: MetricsServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_health_and_readiness_follow_the_checks(server: MetricsServer) -> None:
    assert http_get(base(server) + "/healthz") == (200, "ok\n")
    status, body = http_get(base(server) + "/readyz")
    assert status == 503 and "model failing" in body and "always ok" in body
    server.ready_flag["ready"] = True  # type: ignore[attr-defined]
    status, body = http_get(base(server) + "/readyz")
    assert status == 200 and "model ok" in body
    assert http_get(base(server) + "/nothing-here")[0] == 404


def test_a_raising_check_means_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("database gone")

    app = metrics.MetricsApp(metrics.REGISTRY, {"db": broken})
    assert app.readiness() == {"db": False}


def test_a_degraded_check_is_ready_and_says_why() -> None:
    srv = MetricsServer("127.0.0.1", 0, {"call_log": lambda: metrics.Degraded("spooling: 3 write(s) waiting")})
    srv.start()
    try:
        assert http_get(base(srv) + "/readyz") == (200, "call_log degraded (spooling: 3 write(s) waiting)\n")
        assert srv.app.readiness() == {"call_log": True}
        metrics.call_log_spool(3, True)
        scraped = samples(http_get(base(srv) + "/metrics")[1])
        assert value(scraped, "callbridge_call_log_spool_depth") == 3
        assert value(scraped, "callbridge_call_log_spooling") == 1
    finally:
        metrics.call_log_spool(0, False)
        srv.stop()


def test_turn_breakdown_lands_in_the_histogram_by_stage(server: MetricsServer) -> None:
    name = "callbridge_turn_latency_seconds"
    labels = {"call_type": "webrtc", "trigger": "utterance"}
    before = samples(http_get(base(server) + "/metrics")[1])
    metrics.turn_recorded(
        "webrtc",
        {"trigger": "utterance", "eou_decided_ms": 310.0, "voice_to_voice_ms": 820.5, "server_ms": 510.5},
    )
    after = samples(http_get(base(server) + "/metrics")[1])

    def delta(sample: str, **extra: str) -> float:
        return value(after, sample, **labels, **extra) - value(before, sample, **labels, **extra)

    assert delta(f"{name}_count", stage="voice_to_voice") == 1
    assert delta(f"{name}_sum", stage="voice_to_voice") == pytest.approx(0.8205)
    assert delta(f"{name}_bucket", stage="voice_to_voice", le="1.0") == 1
    assert delta(f"{name}_bucket", stage="voice_to_voice", le="0.75") == 0
    assert delta(f"{name}_count", stage="server") == 1
    assert delta(f"{name}_count", stage="first_audio") == 0  # not in this turn's breakdown


def test_calls_and_active_gauge() -> None:
    def active() -> float:
        return metrics.ACTIVE_CALLS.labels(call_type="sip")._value.get()

    start = active()
    with metrics.active_call("sip"):
        assert active() == start + 1
    assert active() == start
    before = metrics.CALLS.labels(call_type="sip", outcome="failed", cause="none")._value.get()
    metrics.call_finished("sip", "failed", None)
    assert metrics.CALLS.labels(call_type="sip", outcome="failed", cause="none")._value.get() == before + 1


def test_campaign_progress_and_esl_connection_are_exposed(server: MetricsServer) -> None:
    metrics.campaign_progress("spring-reminders", {"pending": 7, "done:answered": 3})
    metrics.esl_connection(True)
    before_connects = value(samples(http_get(base(server) + "/metrics")[1]), "callbridge_esl_connects_total")
    metrics.esl_connection(False)
    metrics.esl_connection(True)
    scraped = samples(http_get(base(server) + "/metrics")[1])
    contacts = "callbridge_campaign_contacts"
    assert value(scraped, contacts, campaign="spring-reminders", state="pending") == 7
    assert value(scraped, contacts, campaign="spring-reminders", state="done:answered") == 3
    assert value(scraped, "callbridge_esl_connects_total") == before_connects + 1
    assert value(scraped, "callbridge_esl_connected") == 1
