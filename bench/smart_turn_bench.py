"""Cost of one Smart Turn v3.2 end-of-turn prediction, alone and batched, on this machine.

Same utterances (Piper, 8 kHz, as from a phone line), same run: features alone (resample + log-mel), then
the whole prediction one call at a time versus batches of 4 and 8 (one inference per batch). Reports the
median wall time per batch and per prediction. One onnxruntime thread, as the media worker runs it.

    python bench/smart_turn_bench.py [--repeats 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.turn.smart_turn import SmartTurnModel, features
from tests.turn.speech import SENTENCES, spoken

RATE = 8000


def median_s(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    model = SmartTurnModel(threads=args.threads)
    audios = [spoken(text, RATE) for pair in SENTENCES for text in pair]
    one = audios[0]
    rows = [("features only (resample + log-mel)", 1, median_s(lambda: features(one, RATE), args.repeats))]
    rows.append(("predict, single", 1, median_s(lambda: model.predict(one, RATE), args.repeats)))
    for size in (4, 8):
        batch = audios[:size]
        rows.append(
            (
                f"predict_batch of {size}",
                size,
                median_s(lambda b=batch: model.predict_batch(b, RATE), args.repeats),
            )
        )
    print(f"threads={args.threads} repeats={args.repeats} rate={RATE}")
    print(f"{'case':38s} {'ms/batch':>9s} {'ms/prediction':>14s}")
    for name, size, seconds in rows:
        print(f"{name:38s} {seconds * 1000:9.1f} {seconds * 1000 / size:14.1f}")


if __name__ == "__main__":
    main()
