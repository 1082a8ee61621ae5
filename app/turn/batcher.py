"""Runs the end-of-turn predictions of every active call together, off the event loop.

A call's greenlet hands its utterance to :meth:`TurnBatcher.predict` and waits; one greenlet takes every
request pending at that moment and runs them as one batch in a worker thread (normally the VAD
batcher's own thread, so the worker keeps a single inference thread). While one batch runs the next
accumulates, so batches grow with the load and a lone call is not delayed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import gevent
import gevent.event
import gevent.threadpool
import numpy as np

from app.turn.smart_turn import SmartTurnModel, features, shared_turn_model
from app.vad.batcher import VadBatcher

log = logging.getLogger(__name__)


@dataclass
class _Request:
    audio: np.ndarray
    rate: int
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


def infer_requests(
    model: SmartTurnModel, requests: list[tuple[np.ndarray, int]], max_batch: int
) -> list[float]:
    """Probabilities for ``(audio, rate)`` pairs (rates may differ), ``max_batch`` rows per inference."""
    probabilities: list[float] = []
    for start in range(0, len(requests), max_batch):
        chunk = requests[start : start + max_batch]
        probabilities.extend(model.infer(np.stack([features(audio, rate) for audio, rate in chunk])))
    return probabilities


class TurnModelBusy(RuntimeError):
    """More predictions are waiting than the model can return in time: decide this pause without it."""


class TurnBatcher:
    """The process's end-of-turn scheduler around one shared :class:`SmartTurnModel`.

    ``max_pending`` sheds load: with that many requests already waiting, a new one is refused at once
    (:class:`TurnModelBusy`) instead of queueing behind them, since its answer would come after the pause
    it was asked about had been decided anyway.
    """

    def __init__(
        self,
        model: SmartTurnModel | None = None,
        *,
        max_batch: int = 8,
        threadpool: gevent.threadpool.ThreadPool | None = None,
        use_thread: bool = True,
        max_pending: int = 32,
    ) -> None:
        self.model = model or shared_turn_model()
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.refused = 0
        self._owns_pool = threadpool is None and use_thread
        # Not ``threadpool or ...``: an idle ThreadPool is falsy (its len is its task count).
        if threadpool is None and use_thread:
            threadpool = gevent.threadpool.ThreadPool(1)
        self._pool = threadpool
        self._pending: deque[_Request] = deque()
        self._wakeup = gevent.event.Event()
        self._loop: gevent.Greenlet | None = None
        self.batches = 0
        self.predictions = 0
        self.busy_s = 0.0

    @classmethod
    def beside(cls, vad: VadBatcher, model: SmartTurnModel | None = None, max_batch: int = 8) -> TurnBatcher:
        """A batcher running in ``vad``'s inference thread (or inline, when ``vad`` runs inline)."""
        return cls(
            model, max_batch=max_batch, threadpool=vad.threadpool, use_thread=vad.threadpool is not None
        )

    def predict(self, audio: np.ndarray, rate: int) -> float:
        """Probability that the speaker has finished; blocks only the calling greenlet.

        Raises what the inference raised, or :class:`TurnModelBusy` when ``max_pending`` requests are
        already waiting (the caller decides how to end the turn without the model).
        """
        if len(self._pending) >= self.max_pending:
            self.refused += 1
            raise TurnModelBusy(f"{len(self._pending)} end-of-turn predictions already waiting")
        request = _Request(np.asarray(audio).copy(), rate)
        self._pending.append(request)
        if self._loop is None or self._loop.dead:
            self._loop = gevent.spawn(self._run)
        self._wakeup.set()
        value: float = request.result.get()
        return value

    def stop(self) -> None:
        """Stops the scheduling greenlet, and the thread if this batcher made it."""
        if self._loop is not None:
            self._loop.kill()
        if self._owns_pool and self._pool is not None:
            self._pool.kill()

    def _run(self) -> None:
        while True:
            self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                self._run_once()

    def _run_once(self) -> None:
        requests = list(self._pending)
        self._pending.clear()
        pairs = [(r.audio, r.rate) for r in requests]
        started = time.perf_counter()
        try:
            if self._pool is not None:
                results = self._pool.spawn(infer_requests, self.model, pairs, self.max_batch).get()
            else:
                results = infer_requests(self.model, pairs, self.max_batch)
        except Exception as error:
            log.exception("end-of-turn inference failed for %d requests", len(requests))
            for request in requests:
                request.result.set_exception(error)
            return
        self.busy_s += time.perf_counter() - started
        self.batches += 1
        self.predictions += len(requests)
        for request, probability in zip(requests, results, strict=True):
            request.result.set(probability)
