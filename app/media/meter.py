"""A call listener that measures what arrives: how much audio, how loud, and what the controller said.

It is the worker's accounting layer; speech detection and transcription build on the same listener
interface.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from app.domain import CallId
from app.media.server import Send
from app.media.wire import StreamMetadata

log = logging.getLogger(__name__)


@dataclass
class StreamReport:
    """What the worker received on one call's stream."""

    call_id: CallId
    rate: int
    call_type: str
    samples: int = 0
    frames: int = 0
    peak: int = 0
    sum_squares: float = 0.0
    controls: list[str] = field(default_factory=list)
    end_reason: str | None = None

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    @property
    def rms_dbfs(self) -> float:
        if not self.samples or self.sum_squares <= 0:
            return -math.inf
        return 20 * math.log10(math.sqrt(self.sum_squares / self.samples) / 32768.0)


class StreamMeter:
    """Listener for one call; keeps its report in the shared :class:`StreamReports`."""

    def __init__(self, report: StreamReport, send: Send) -> None:
        self.report = report
        self.send = send

    def on_audio(self, samples: np.ndarray) -> None:
        r = self.report
        r.frames += 1
        r.samples += len(samples)
        if len(samples):
            wide = samples.astype(np.float64)
            r.peak = max(r.peak, int(np.abs(wide).max()))
            r.sum_squares += float(np.dot(wide, wide))

    def on_control(self, message: dict[str, object]) -> None:
        self.report.controls.append(str(message.get("type")))

    def on_end(self, reason: str) -> None:
        self.report.end_reason = reason
        log.info(
            "call %s: stream ended (%s): %.2f s of audio in %d frames, %.1f dBFS",
            self.report.call_id,
            reason,
            self.report.seconds,
            self.report.frames,
            self.report.rms_dbfs,
        )


class StreamReports:
    """Listener factory that remembers the last ``keep`` calls' reports."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._reports: OrderedDict[CallId, StreamReport] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, metadata: StreamMetadata, send: Send) -> StreamMeter:
        report = StreamReport(metadata.uuid, metadata.rate, metadata.call_type.value)
        with self._lock:
            self._reports[metadata.uuid] = report
            while len(self._reports) > self.keep:
                self._reports.popitem(last=False)
        return StreamMeter(report, send)

    def get(self, call_id: str) -> StreamReport | None:
        with self._lock:
            return self._reports.get(CallId(call_id))
