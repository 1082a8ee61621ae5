"""Live metrics for Prometheus, and the /metrics, /healthz and /readyz endpoints.

The metric objects live in one process-wide registry (:data:`REGISTRY`); the rest of the application
reports through the small functions below (one call per observation), so no module outside this one
touches ``prometheus_client``. :class:`MetricsServer` serves the registry over HTTP on a gevent WSGI
server (port 0 picks a free port).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gevent.pywsgi import WSGIServer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

# Latency buckets in seconds: turn parts range from a few ms (broadcast) to seconds (voice to voice).
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)

ACTIVE_CALLS = Gauge(
    "callbridge_active_calls", "Calls the controller is running now", ["call_type"], registry=REGISTRY
)
CALLS = Counter(
    "callbridge_calls",
    "Finished calls by outcome (record state) and hangup cause",
    ["call_type", "outcome", "cause"],
    registry=REGISTRY,
)
TURN_LATENCY = Histogram(
    "callbridge_turn_latency_seconds",
    "Agent turn latency breakdown: seconds from the caller's speech end (or the answer) to each stage",
    ["call_type", "trigger", "stage"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
VAD_BATCH_SECONDS = Histogram(
    "callbridge_vad_batch_seconds",
    "Wall time of one batched VAD inference",
    buckets=_FAST_BUCKETS,
    registry=REGISTRY,
)
VAD_WINDOWS = Counter("callbridge_vad_windows", "VAD windows scored", registry=REGISTRY)
VAD_BACKLOG = Gauge(
    "callbridge_worker_vad_backlog_windows",
    "VAD windows waiting at the start of the last batch",
    registry=REGISTRY,
)
VAD_BATCH_STREAMS = Gauge(
    "callbridge_worker_vad_batch_streams", "Calls in the last VAD batch", registry=REGISTRY
)
WORKER_STREAMS = Gauge(
    "callbridge_worker_streams", "Audio streams the media worker is listening to", registry=REGISTRY
)
STT_SECONDS = Histogram(
    "callbridge_stt_seconds",
    "Seconds from the end of utterance decision to the final transcript",
    ["engine"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
STT_AUDIO_SECONDS = Counter(
    "callbridge_stt_audio_seconds", "Seconds of speech transcribed", ["engine"], registry=REGISTRY
)
TTS_SECONDS = Histogram(
    "callbridge_tts_render_seconds",
    "Seconds to synthesise one sentence (cache misses)",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TTS_AUDIO_SECONDS = Counter(
    "callbridge_tts_audio_seconds", "Seconds of agent speech synthesised", registry=REGISTRY
)
ESL_CONNECTS = Counter(
    "callbridge_esl_connects", "Inbound ESL connections made (reconnects included)", registry=REGISTRY
)
ESL_CONNECTED = Gauge(
    "callbridge_esl_connected", "1 while the inbound ESL connection is up", registry=REGISTRY
)
CALL_LOG_SPOOL_DEPTH = Gauge(
    "callbridge_call_log_spool_depth",
    "Call-log writes in the local spool, waiting for the database to come back",
    registry=REGISTRY,
)
CALL_LOG_SPOOLING = Gauge(
    "callbridge_call_log_spooling", "1 while call-log writes go to the local spool", registry=REGISTRY
)
CALL_LOG_SPOOLED = Counter(
    "callbridge_call_log_spooled",
    "Call-log writes put in the spool (database unreachable)",
    registry=REGISTRY,
)
CALL_LOG_REPLAYED = Counter(
    "callbridge_call_log_replayed", "Spooled call-log writes replayed into the database", registry=REGISTRY
)
CALL_LOG_REJECTED = Counter(
    "callbridge_call_log_rejected",
    "Spooled call-log writes the database refused (kept in the spool's rejected table)",
    registry=REGISTRY,
)
CAMPAIGN_CALLS = Gauge(
    "callbridge_campaign_contacts", "Campaign contacts by state", ["campaign", "state"], registry=REGISTRY
)

# The parts of ``turns.timings`` (see app.control.turns) reported as stages, without the ``_ms`` suffix.
TURN_STAGES = (
    "eou_decided",
    "transcript_ready",
    "first_text",
    "first_audio",
    "broadcast_sent",
    "playback_started",
    "voice_to_voice",
    "server",
)


# -- controller ---------------------------------------------------------------------------------


@contextmanager
def active_call(call_type: str) -> Iterator[None]:
    """Count a call as active for the duration of the ``with`` block."""
    gauge = ACTIVE_CALLS.labels(call_type=call_type)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def call_finished(call_type: str, outcome: str, cause: str | None) -> None:
    CALLS.labels(call_type=call_type, outcome=outcome, cause=cause or "none").inc()


def turn_recorded(call_type: str, timings: Mapping[str, object]) -> None:
    """Observe each stage of an agent turn's breakdown (``*_ms`` values, as stored in ``turns.timings``)."""
    trigger = str(timings.get("trigger", "unknown"))
    for stage in TURN_STAGES:
        value = timings.get(f"{stage}_ms")
        if isinstance(value, int | float) and value >= 0:
            TURN_LATENCY.labels(call_type=call_type, trigger=trigger, stage=stage).observe(value / 1000)


# -- media worker -------------------------------------------------------------------------------


def vad_batch(streams: int, windows: int, seconds: float) -> None:
    VAD_BATCH_SECONDS.observe(seconds)
    VAD_WINDOWS.inc(windows)
    VAD_BACKLOG.set(windows)
    VAD_BATCH_STREAMS.set(streams)


def worker_stream(delta: int) -> None:
    """+1 when the worker starts listening to a call, -1 when the stream ends."""
    WORKER_STREAMS.inc(delta)


def stt_finished(engine: str, seconds: float, speech_seconds: float) -> None:
    STT_SECONDS.labels(engine=engine).observe(seconds)
    STT_AUDIO_SECONDS.labels(engine=engine).inc(max(speech_seconds, 0.0))


def tts_rendered(seconds: float, audio_seconds: float) -> None:
    TTS_SECONDS.observe(seconds)
    TTS_AUDIO_SECONDS.inc(audio_seconds)


# -- ESL and dialer ----------------------------------------------------------------------------


def esl_connection(up: bool) -> None:
    """Report the inbound ESL connection coming up (counted: reconnects show as increments) or going down."""
    if up:
        ESL_CONNECTS.inc()
    ESL_CONNECTED.set(1 if up else 0)


def campaign_progress(campaign: str, counts: Mapping[str, int]) -> None:
    """Contacts of a campaign by state (e.g. pending, dialing, done, failed)."""
    for state, count in counts.items():
        CAMPAIGN_CALLS.labels(campaign=campaign, state=state).set(count)


# -- call log ------------------------------------------------------------------------------------


def call_log_spool(depth: int, spooling: bool) -> None:
    """The call-log spool's depth, and whether writes are going to it."""
    CALL_LOG_SPOOL_DEPTH.set(depth)
    CALL_LOG_SPOOLING.set(1 if spooling else 0)


def call_log_spooled() -> None:
    CALL_LOG_SPOOLED.inc()


def call_log_replayed() -> None:
    CALL_LOG_REPLAYED.inc()


def call_log_rejected() -> None:
    CALL_LOG_REJECTED.inc()


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Degraded:
    """A readiness result: ready (keep sending traffic), but working around a fault that ``detail`` names."""

    detail: str


ReadinessCheck = Callable[[], bool | Degraded]
_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class MetricsApp:
    """WSGI app: ``/metrics`` (Prometheus text format), ``/healthz`` (alive), ``/readyz`` (checks pass)."""

    def __init__(
        self, registry: CollectorRegistry = REGISTRY, checks: Mapping[str, ReadinessCheck] | None = None
    ):
        self.prometheus = make_wsgi_app(registry)
        self.checks: dict[str, ReadinessCheck] = dict(checks or {})

    def readiness(self) -> dict[str, bool]:
        """Each check's result; a check that raises counts as not ready, a degraded one as ready."""
        return {name: not isinstance(status, bool) or status for name, status in self.statuses().items()}

    def statuses(self) -> dict[str, bool | Degraded]:
        """Each check's own result: True, False (a check that raises counts as False) or Degraded."""
        results: dict[str, bool | Degraded] = {}
        for name, check in self.checks.items():
            try:
                status = check()
                results[name] = status if isinstance(status, Degraded) else bool(status)
            except Exception:
                log.exception("readiness check %s failed", name)
                results[name] = False
        return results

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self.prometheus(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return _text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            results = self.statuses()
            body = "".join(f"{name} {_describe(status)}\n" for name, status in results.items())
            ready = all(status is not False for status in results.values())
            return _text(start_response, "200 OK" if ready else "503 Service Unavailable", body or "ok\n")
        return _text(start_response, "404 Not Found", "not found\n")


def _describe(status: bool | Degraded) -> str:
    if isinstance(status, Degraded):
        return f"degraded ({status.detail})"
    return "ok" if status else "failing"


def _text(start_response: _StartResponse, status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


class MetricsServer:
    """Serves :class:`MetricsApp` on ``host:port`` in a greenlet (port 0: a free port, see ``port``)."""

    def __init__(self, host: str, port: int, checks: Mapping[str, ReadinessCheck] | None = None) -> None:
        self.app = MetricsApp(REGISTRY, checks)
        self._server = WSGIServer((host, port), self.app, log=None)

    def start(self) -> None:
        self._server.start()
        log.info("metrics: http://%s:%d/metrics", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    def stop(self) -> None:
        self._server.stop(timeout=2)
