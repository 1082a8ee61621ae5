"""A supervised inbound ESL client: connects, authenticates, subscribes, and reconnects with backoff."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import gevent
import gevent.event
from greenswitch import esl as gs

from app import metrics
from app.esl import commands
from app.esl.connection import DISCONNECT, InboundConnection, Notice, reply_ok, reply_text
from app.esl.protocol import Event

log = logging.getLogger(__name__)


class EslUnavailable(RuntimeError):
    """No connection to FreeSWITCH right now (it is being re-established)."""


class ApiError(RuntimeError):
    """FreeSWITCH answered a command with -ERR (or a usage text)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, bounded."""

    minimum: float = 0.5
    maximum: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        ceiling = min(self.maximum, self.minimum * (2 ** max(attempt, 0)))
        return float(self.minimum + (ceiling - self.minimum) * rng())


class InboundClient:
    """Keeps one connection to FreeSWITCH's event socket alive and re-subscribes after each reconnect.

    ``on_event`` runs in the connection's event greenlet for every subscribed event.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        events: Iterable[str] = ("BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE"),
        custom: Iterable[str] = (),
        on_event: Callable[[Event], None] | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.host, self.port, self._password = host, port, password
        self._subscription = commands.subscribe(list(events), list(custom))
        self._on_event = on_event
        self._connect_timeout, self._command_timeout = connect_timeout, command_timeout
        self._backoff = backoff
        self._connection: InboundConnection | None = None
        self._closed = gevent.event.Event()
        self._lost = gevent.event.Event()
        self.connected = gevent.event.Event()
        self.connections_made = 0
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        # A BACKGROUND_JOB can be handled before the bgapi caller has registered its Job-UUID.
        self._early_results: dict[str, str] = {}
        self._supervisor: gevent.Greenlet | None = None

    def start(self) -> None:
        self._supervisor = gevent.spawn(self._supervise)

    def stop(self) -> None:
        self._closed.set()
        self._lost.set()
        connection = self._connection
        if connection is not None and connection.connected:
            try:
                connection.send_message("exit", timeout=2)
            except Exception:
                log.debug("exit on close failed", exc_info=True)
            connection._connection_closed("client stopped")
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)

    def wait_connected(self, timeout: float | None = None) -> bool:
        return bool(self.connected.wait(timeout))

    def _supervise(self) -> None:
        attempt = 0
        while not self._closed.is_set():
            try:
                self._connect_once()
                attempt = 0
                self._lost.wait()
            except PermissionError:
                log.error("esl %s:%s: wrong password; retrying later", self.host, self.port)
            except (OSError, gs.NotConnectedError, TimeoutError) as exc:
                log.warning("esl %s:%s: cannot connect: %s", self.host, self.port, exc)
            self.connected.clear()
            if self._closed.is_set():
                break
            delay = self._backoff.delay(attempt)
            attempt += 1
            log.info("esl %s:%s: reconnecting in %.1f s", self.host, self.port, delay)
            self._closed.wait(delay)

    def _connect_once(self) -> None:
        self._lost.clear()
        connection = InboundConnection(
            self.host, self.port, self._password, self._connect_timeout, self._command_timeout
        )
        connection.register_handle("*", self._handle_event)
        connection.register_handle(DISCONNECT, self._handle_notice)
        connection.connect()
        reply = connection.send_message(self._subscription)
        if not reply_ok(reply):
            raise gs.NotConnectedError(f"subscription refused: {reply_text(reply)}")
        self._connection = connection
        self.connections_made += 1
        self.connected.set()
        metrics.esl_connection(True)
        log.info("esl %s:%s: connected and subscribed", self.host, self.port)

    def _handle_notice(self, notice: Notice) -> None:
        if notice.lost or notice.headers.get("Content-Disposition") == "disconnect":
            self.connected.clear()
            metrics.esl_connection(False)
            for job in self._jobs.values():
                job.set_exception(EslUnavailable("connection lost before the job finished"))
            self._jobs.clear()
            self._lost.set()

    def _handle_event(self, event: Event) -> None:
        if event.name == "BACKGROUND_JOB":
            job_uuid = event.get("Job-UUID", "") or ""
            job = self._jobs.pop(job_uuid, None)
            if job is not None:
                job.set(event.body)
            elif job_uuid:
                self._early_results[job_uuid] = event.body
                while len(self._early_results) > 1000:
                    self._early_results.pop(next(iter(self._early_results)))
        if self._on_event is not None:
            self._on_event(event)

    def _require(self) -> InboundConnection:
        connection = self._connection
        if connection is None or not connection.connected or not self.connected.is_set():
            raise EslUnavailable(f"not connected to FreeSWITCH at {self.host}:{self.port}")
        return connection

    def api(self, command: str, timeout: float | None = None) -> str:
        """Run an API command and return its body; raise :class:`ApiError` for ``-ERR``/``-USAGE``."""
        reply = self._require().send_message(commands.api(command), timeout=timeout)
        body = reply.body_text
        if body.startswith("-"):
            raise ApiError(f"{command.split(maxsplit=1)[0]}: {body.strip()}")
        return body

    def bgapi(self, command: str) -> gevent.event.AsyncResult:
        """Start a background job; the result resolves to the BACKGROUND_JOB body (``+OK ...``/``-ERR ...``)."""
        reply = self._require().send_message(commands.bgapi(command))
        job_uuid = reply.headers.get("Job-UUID") or reply.reply_text.partition("Job-UUID: ")[2].strip()
        if not reply_ok(reply) or not job_uuid:
            raise ApiError(f"bgapi refused: {reply_text(reply)}")
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        early = self._early_results.pop(job_uuid, None)
        if early is not None:
            result.set(early)
        else:
            self._jobs[job_uuid] = result
        return result
