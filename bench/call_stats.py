"""Pure summaries for ``bench/calls.py``: percentiles, one batch's figures, and the markdown table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

P95_PROCESSING_LIMIT_MS = 300.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


@dataclass
class TypeFigures:
    """One call type's turns in one batch (agent replies to caller speech only)."""

    calls: int = 0
    complete: int = 0  # calls that got a reply to each caller turn
    voice_to_voice: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)  # voice to voice minus the endpoint silence


@dataclass
class Batch:
    """One batch of concurrent calls: what the server spent and what the callers got."""

    concurrency: int
    wall_s: float
    call_s: float  # sum of the calls' durations
    server_cpu_s: float
    rss_before: int
    rss_peak: int
    driver_cpu_s: float
    by_type: dict[str, TypeFigures]
    stage_s: dict[str, float] = field(default_factory=dict)  # wall seconds in VAD batches, STT, TTS

    @property
    def calls(self) -> int:
        return sum(f.calls for f in self.by_type.values())

    @property
    def cpu_percent_per_call(self) -> float:
        """Percent of one core per call in progress (server CPU over call-seconds)."""
        return 100.0 * self.server_cpu_s / self.call_s if self.call_s else float("nan")

    @property
    def rss_per_call_mb(self) -> float:
        return (self.rss_peak - self.rss_before) / self.concurrency / 2**20

    def holds_real_time(self) -> bool:
        """Every call answered each caller turn and p95 processing stayed under the limit."""
        figures = list(self.by_type.values())
        return all(f.complete == f.calls for f in figures) and all(
            percentile(f.processing, 95) < P95_PROCESSING_LIMIT_MS for f in figures if f.processing
        )


def turn_figures(timings: Mapping[str, object], silence_ms: float) -> tuple[float, float, float] | None:
    """(voice to voice, server, processing) ms of a reply to caller speech; None for other turns."""
    if timings.get("trigger") != "utterance":
        return None
    v2v, server = timings.get("voice_to_voice_ms"), timings.get("server_ms")
    if not isinstance(v2v, int | float) or not isinstance(server, int | float):
        return None
    return float(v2v), float(server), float(v2v) - silence_ms


def _ratio(value: float, baseline: float) -> str:
    usable = baseline and not math.isnan(baseline) and not math.isnan(value)
    return f"{value / baseline:.2f}x" if usable else "-"


def table(batches: Sequence[Batch], baseline: Batch) -> str:
    """The markdown table, one row per batch and call type, each figure beside the baseline ratio."""
    head = (
        "| calls | type | complete | v2v p50 ms | v2v p95 ms | server p50 ms | server p95 ms "
        "| processing p95 ms | server share | CPU % core/call | RSS MB/added call | real time "
        "| v2v p50 vs baseline | v2v p95 vs baseline |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n"
    )
    rows = []
    for batch in batches:
        for call_type, f in sorted(batch.by_type.items()):
            base = baseline.by_type.get(call_type, TypeFigures())
            v50, v95 = percentile(f.voice_to_voice, 50), percentile(f.voice_to_voice, 95)
            s50, s95 = percentile(f.server, 50), percentile(f.server, 95)
            share = s50 / v50 if v50 else float("nan")
            rows.append(
                f"| {batch.concurrency} | {call_type} | {f.complete}/{f.calls} | {v50:.0f} | {v95:.0f} "
                f"| {s50:.0f} | {s95:.0f} | {percentile(f.processing, 95):.0f} | {share:.0%} "
                f"| {batch.cpu_percent_per_call:.1f} | {batch.rss_per_call_mb:.1f} "
                f"| {'yes' if batch.holds_real_time() else 'no'} "
                f"| {_ratio(v50, percentile(base.voice_to_voice, 50))} "
                f"| {_ratio(v95, percentile(base.voice_to_voice, 95))} |"
            )
    return head + "\n".join(rows)


def load_table(batches: Sequence[Batch]) -> str:
    """Server and load-generator totals per batch."""
    lines = [
        "| calls | wall s | server CPU % of a core | server RSS before → peak MB | stand-in CPU % "
        "| per call: VAD s / STT s / TTS s (wall, summed) |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for b in batches:
        lines.append(
            f"| {b.concurrency} | {b.wall_s:.0f} | {100 * b.server_cpu_s / b.wall_s:.0f} "
            f"| {b.rss_before / 2**20:.0f} → {b.rss_peak / 2**20:.0f} | {100 * b.driver_cpu_s / b.wall_s:.0f} "
            f"| {' / '.join(f'{b.stage_s.get(k, 0.0) / max(b.calls, 1):.2f}' for k in ('VAD', 'STT', 'TTS'))} |"
        )
    return "\n".join(lines)
