"""The pure summaries behind bench/calls.py (the benchmark itself is never run by the tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


stats = load("call_stats")


def batch(concurrency: int, v2v: list[float], server: list[float], complete: int, calls: int):  # type: ignore[no-untyped-def]
    figures = stats.TypeFigures(calls=calls, complete=complete)
    for v, s in zip(v2v, server, strict=True):
        measured = stats.turn_figures({"trigger": "utterance", "voice_to_voice_ms": v, "server_ms": s}, 500)
        figures.voice_to_voice.append(measured[0])
        figures.server.append(measured[1])
        figures.processing.append(measured[2])
    return stats.Batch(concurrency, 30.0, 20.0 * calls, 4.0, 100 * 2**20, 130 * 2**20, 1.0, {"sip": figures})


def test_only_replies_to_caller_speech_count() -> None:
    assert (
        stats.turn_figures({"trigger": "call_started", "voice_to_voice_ms": 900.0, "server_ms": 1.0}, 500)
        is None
    )
    assert stats.turn_figures({"trigger": "utterance", "eou_decided_ms": 510.0}, 500) is None
    assert stats.turn_figures({"trigger": "utterance", "voice_to_voice_ms": 900, "server_ms": 390}, 500) == (
        900.0,
        390.0,
        400.0,
    )


def test_real_time_needs_every_turn_answered_and_p95_processing_under_the_limit() -> None:
    assert batch(2, [700.0, 750.0], [200.0, 250.0], complete=2, calls=2).holds_real_time()
    assert not batch(2, [700.0, 750.0], [200.0, 250.0], complete=1, calls=2).holds_real_time()
    assert not batch(2, [700.0, 900.0], [200.0, 400.0], complete=2, calls=2).holds_real_time()


def test_per_call_costs_and_table_ratios() -> None:
    base = batch(1, [800.0], [300.0], complete=1, calls=1)
    loaded = batch(10, [1600.0, 1600.0], [1100.0, 1100.0], complete=10, calls=10)
    assert loaded.cpu_percent_per_call == 100 * 4.0 / 200.0
    assert loaded.rss_per_call_mb == 3.0
    text = stats.table([base, loaded], base)
    rows = [line for line in text.splitlines() if line.startswith("| 10 ")]
    assert len(rows) == 1 and "| 2.00x | 2.00x |" in rows[0] and "| 10/10 |" in rows[0]
