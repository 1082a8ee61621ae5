"""``callbridge serve``: the controller and media worker against a real FreeSWITCH."""

from __future__ import annotations

import logging
import signal

import gevent
import gevent.event

from app.config import Settings
from app.control.reclaim import Reclaimer
from app.control.unseen_ends import close_when_connected
from app.esl.inbound import Backoff, InboundClient
from app.llm_check import llm_unreachable
from app.metrics import MetricsServer, ReadinessCheck
from app.store import MigrationError, upgrade
from app.store.outage import database_unreachable, upgrade_when_reachable
from app.web.server import start_web_client
from app.wiring import Stack

log = logging.getLogger(__name__)


def run_serve(settings: Settings) -> int:
    if settings.esl_password is None:
        log.error("CALLBRIDGE_ESL_PASSWORD is not set: it must match event_socket.conf.xml's password")
        return 2
    if settings.brain == "llm":
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        problem = llm_unreachable(settings.llm_base_url, key, settings.llm_connect_timeout)
        if problem:
            log.warning("%s: callers will hear CALLBRIDGE_LLM_FALLBACK_TEXT until it answers", problem)
    try:
        upgrade(settings.database_url)
    except MigrationError as exc:
        if not database_unreachable(exc):
            raise
        log.error("database unreachable at start-up (%s): migrations wait until it answers", exc)
        gevent.spawn(
            upgrade_when_reachable,
            settings.database_url,
            min_delay=settings.call_log_retry_min_delay,
            max_delay=settings.call_log_retry_max_delay,
        )
    stack = Stack.build(settings, live_calls=True)
    inherited = stack.live.uuids() if stack.live is not None else set()  # live when the last run died
    stack.start()
    reclaimer = Reclaimer()  # takes back calls left parked by a controller restart (issue 16 item 1)
    esl = InboundClient(
        settings.esl_host,
        settings.esl_port,
        settings.esl_password.get_secret_value(),
        events=("BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE", *Reclaimer.EVENTS),
        on_event=reclaimer.on_event,
        connect_timeout=settings.esl_connect_timeout,
        command_timeout=settings.esl_command_timeout,
        backoff=Backoff(settings.esl_reconnect_min_delay, settings.esl_reconnect_max_delay),
    )
    esl.start()
    gevent.spawn(reclaimer.run, esl)
    if stack.recorder is not None and stack.live is not None:
        gevent.spawn(close_when_connected, esl, inherited, stack.recorder, stack.live)
    checks: dict[str, ReadinessCheck] = {
        "esl": esl.connected.is_set,
        "controller": lambda: stack.outbound is not None and stack.outbound.ready.is_set(),
    }
    if stack.recorder is not None:
        checks["call_log"] = stack.recorder.readiness  # degraded (still ready) while writes are spooled
    metrics = (
        MetricsServer(settings.metrics_host, settings.metrics_port, checks)
        if settings.metrics_enabled
        else None
    )
    if metrics is not None:
        metrics.start()
    start_web_client(settings, stack.call_log)
    stopping = gevent.event.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stopping.set)
    log.info(
        "serving: FreeSWITCH socket app -> %s:%d, mod_audio_stream -> %s",
        settings.controller_host,
        stack.controller_port,
        settings.media_url,
    )
    stopping.wait()
    log.info("stopping: no new calls; waiting for calls in progress")
    esl.stop()
    stack.stop(grace=settings.shutdown_grace_seconds)
    if metrics is not None:
        metrics.stop()
    return 0
