"""Runs the VAD windows of every active call together: one inference per round, off the event loop.

Each call feeds its audio to a :class:`VadStream`, which cuts it into model windows. One greenlet takes
every stream's pending windows at once and runs them in a worker thread (onnxruntime releases the GIL), a
batch per rate and per round (round *k* holds the *k*-th pending window of each call, since a call's
windows depend on each other through the model state). While one batch runs, the next one accumulates,
so the batch grows with the load and a lone call is not delayed. Results go back to each call's
callback, in order, on the event loop.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

import gevent
import gevent.event
import gevent.threadpool
import numpy as np

from app import metrics
from app.vad.silero import SileroModel, VadState, to_float, window_samples

log = logging.getLogger(__name__)

WindowResults = list[tuple[np.ndarray, float]]
OnWindows = Callable[[WindowResults], None]


def infer_rounds(
    model: SileroModel, states: Sequence[VadState], windows: Sequence[Sequence[np.ndarray]], max_batch: int
) -> list[np.ndarray]:
    """Probabilities for each call's windows (int16), batching across calls; pure apart from the states.

    ``states[i]`` advances through ``windows[i]`` in order; calls may be at different rates.
    """
    probabilities = [np.zeros(len(w), dtype=np.float32) for w in windows]
    longest = max((len(w) for w in windows), default=0)
    for position in range(longest):
        by_rate: dict[int, list[int]] = {}
        for call, call_windows in enumerate(windows):
            if position < len(call_windows):
                by_rate.setdefault(states[call].rate, []).append(call)
        for calls in by_rate.values():
            for start in range(0, len(calls), max_batch):
                chunk = calls[start : start + max_batch]
                batch = to_float(np.stack([windows[c][position] for c in chunk]))
                result = model.infer([states[c] for c in chunk], batch)
                for row, call in enumerate(chunk):
                    probabilities[call][position] = result[row]
    return probabilities


class VadStream:
    """One call's entry to the batcher: buffers samples into windows and gets back probabilities."""

    def __init__(self, batcher: VadBatcher, rate: int, on_windows: OnWindows, label: str) -> None:
        self.batcher = batcher
        self.rate = rate
        self.window = window_samples(rate)
        self.state = VadState(rate)
        self.on_windows = on_windows
        self.label = label
        self.pending: deque[np.ndarray] = deque()
        self.closed = False
        self._leftover = np.zeros(0, dtype=np.int16)

    def feed(self, samples: np.ndarray) -> None:
        """Any number of int16 samples; whole windows are queued for the next batch."""
        if self.closed:
            return
        buffer = np.concatenate([self._leftover, samples]) if len(self._leftover) else samples
        whole = len(buffer) // self.window * self.window
        for start in range(0, whole, self.window):
            self.pending.append(buffer[start : start + self.window].astype(np.int16, copy=True))
        self._leftover = buffer[whole:].astype(np.int16, copy=True)
        if whole:
            self.batcher.wake(self)

    def close(self) -> None:
        self.closed = True
        self.pending.clear()
        self.batcher.forget(self)


class VadBatcher:
    """The process's VAD scheduler around one shared :class:`SileroModel`."""

    def __init__(
        self,
        model: SileroModel,
        *,
        max_batch: int = 256,
        threadpool: gevent.threadpool.ThreadPool | None = None,
        use_thread: bool = True,
    ) -> None:
        self.model = model
        self.max_batch = max_batch
        self.use_thread = use_thread
        if threadpool is None and use_thread:  # not ``or``: an idle ThreadPool is falsy
            threadpool = gevent.threadpool.ThreadPool(1)
        self._pool = threadpool
        self._ready: dict[int, VadStream] = {}
        self._wakeup = gevent.event.Event()
        self._loop: gevent.Greenlet | None = None
        self.batches = 0
        self.windows = 0

    @property
    def threadpool(self) -> gevent.threadpool.ThreadPool | None:
        """The inference thread (None when inference runs inline), for other batchers to share."""
        return self._pool

    def open(self, rate: int, on_windows: OnWindows, label: str) -> VadStream:
        """A stream for one call; ``on_windows`` receives ``[(window, probability), ...]`` in order."""
        if self._loop is None or self._loop.dead:
            self._loop = gevent.spawn(self._run)
        return VadStream(self, rate, on_windows, label)

    def wake(self, stream: VadStream) -> None:
        self._ready[id(stream)] = stream
        self._wakeup.set()

    def forget(self, stream: VadStream) -> None:
        self._ready.pop(id(stream), None)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
        if self._pool is not None:
            self._pool.kill()

    def _run(self) -> None:
        while True:
            self._wakeup.wait()
            self._wakeup.clear()
            while self._ready:
                self._run_once()

    def _run_once(self) -> None:
        streams = [s for s in self._ready.values() if s.pending and not s.closed]
        self._ready.clear()
        if not streams:
            return
        windows = [list(s.pending) for s in streams]
        for stream in streams:
            stream.pending.clear()
        states = [s.state for s in streams]
        started = time.perf_counter()
        try:
            if self._pool is not None:
                results = self._pool.spawn(infer_rounds, self.model, states, windows, self.max_batch).get()
            else:
                results = infer_rounds(self.model, states, windows, self.max_batch)
        except Exception:
            log.exception("VAD inference failed for %d calls; their windows are dropped", len(streams))
            return
        self.batches += 1
        metrics.vad_batch(len(streams), sum(len(w) for w in windows), time.perf_counter() - started)
        self.windows += sum(len(w) for w in windows)
        for stream, call_windows, probabilities in zip(streams, windows, results, strict=True):
            if stream.closed:
                continue
            try:
                stream.on_windows(list(zip(call_windows, probabilities.tolist(), strict=True)))
            except Exception:
                log.exception("%s: speech processing failed; closing its VAD stream", stream.label)
                stream.close()
