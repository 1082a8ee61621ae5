"""What the end-of-turn signals say at every pause of the conversational set, and what each policy costs.

For every turn of bench/conversation_set.py, at every pause inside it and at its true end, this takes the
turn's audio up to that point (as the worker would hold it when the pause begins: from the pre-roll
before the first word to 100 ms after the last), and records the two signals the worker gathers there:
Whisper's transcript (the configured engine, as the speculative decode runs it) and Smart Turn's
probability. Then it replays those signals through end-of-turn policies offline: a pause inside a turn
of ``p`` ms is a false cut-off when the policy's silence is at most ``p``; at the true end the policy's
silence is the wait it adds.

    python bench/turn_pauses.py --turns 38 --conditions clean,20db+loss5,5db --out /tmp/turn-pauses.json
    python bench/turn_pauses.py --load /tmp/turn-pauses.json      # policies only, from saved signals

This is a design tool: the end-to-end numbers (segmenter and all) are bench/eval_conversation.py's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import wave
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from app.media.turn_end import TurnEndConfig, decide  # noqa: E402

PREROLL_MS = 300
TAIL_MS = 100
RATE = 8000


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def collect(turns: int, conditions: list[str], cache: Path) -> list[dict[str, Any]]:
    """One row per pause and per turn end: kind, pause length, transcript, probability."""
    from conversation_set import build  # noqa: PLC0415

    from app.config import load_settings  # noqa: PLC0415
    from app.media.speech_setup import recognizer_from  # noqa: PLC0415
    from app.turn.smart_turn import shared_turn_model  # noqa: PLC0415

    set_dir, clips = build(cache, turns, conditions)
    recognizer = recognizer_from(load_settings())
    model = shared_turn_model()
    rows: list[dict[str, Any]] = []
    for clip in clips:
        if clip.category == "noise" or not clip.clauses:
            continue
        samples = _read(set_dir / clip.wav)
        start = max(0, int((clip.clauses[0][0] - PREROLL_MS) * RATE / 1000))
        for i, (_, clause_end) in enumerate(clip.clauses):
            last = i == len(clip.clauses) - 1
            end = min(len(samples), int((clause_end + TAIL_MS) * RATE / 1000))
            audio = samples[start:end]
            text = recognizer.transcribe(audio, RATE).text
            rows.append(
                {
                    "clip": clip.id,
                    "category": clip.category,
                    "condition": clip.condition,
                    "voice": clip.voice,
                    "kind": "end" if last else "pause",
                    "pause_ms": None if last else clip.clauses[i + 1][0] - clause_end,
                    "text": text,
                    "probability": model.predict(audio, RATE),
                }
            )
        print(f"  {clip.id}", file=sys.stderr, flush=True)
    return rows


def evaluate(
    rows: list[dict[str, Any]], config: TurnEndConfig, use_text: bool, use_model: bool
) -> dict[str, Any]:
    """False cut-offs over the pauses, and the silence waited at the turns' ends."""
    pauses = [r for r in rows if r["kind"] == "pause"]
    ends = [r for r in rows if r["kind"] == "end"]

    def silence(row: dict[str, Any]) -> int:
        text = row["text"] if use_text else None
        probability = row["probability"] if use_model else None
        return decide(config, text, probability).silence_ms

    cut_clips = {r["clip"] for r in pauses if silence(r) <= r["pause_ms"]}
    multi = {r["clip"] for r in pauses}
    waits = np.array([silence(r) for r in ends], dtype=float)
    return {
        "cut_turns": len(cut_clips),
        "turns_with_pauses": len(multi),
        "cut_pauses": sum(1 for r in pauses if silence(r) <= r["pause_ms"]),
        "pauses": len(pauses),
        "end_wait_mean": float(waits.mean()) if len(waits) else 0.0,
        "end_wait_p50": float(np.percentile(waits, 50)) if len(waits) else 0.0,
        "ends_over_1s": int((waits > 1000).sum()),
        "ends": len(ends),
    }


POLICIES: dict[str, tuple[bool, bool, dict[str, Any]]] = {
    "silence 500 ms (before)": (False, False, {"finished_ms": 500}),
    "words, finished 500 ms": (True, False, {"finished_ms": 500}),
    "words + model, finished 500 ms": (True, True, {"finished_ms": 500}),
    "silence 800 ms": (False, False, {}),
    "words, finished 800 ms": (True, False, {}),
    "model, finished 800 ms": (False, True, {}),
    "words + model, finished 800 ms (default)": (True, True, {}),
    "words + model, finished 800, doubtful 1200": (True, True, {"doubtful_ms": 1200}),
    "words + model, finished 1000": (True, True, {"finished_ms": 1000}),
}


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| policy | turns cut at a pause | pauses taken as the end | end wait mean / p50 ms | ends waiting > 1 s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (use_text, use_model, changes) in POLICIES.items():
        result = evaluate(rows, replace(TurnEndConfig(), **changes), use_text, use_model)
        lines.append(
            f"| {name} | {result['cut_turns']}/{result['turns_with_pauses']} | {result['cut_pauses']}/"
            f"{result['pauses']} | {result['end_wait_mean']:.0f} / {result['end_wait_p50']:.0f} | "
            f"{result['ends_over_1s']}/{result['ends']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=38)
    parser.add_argument("--conditions", default="clean,20db+loss5,5db")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cb-conversation-set")
    parser.add_argument("--out", type=Path, help="save the signals here")
    parser.add_argument("--load", type=Path, help="read saved signals instead of computing them")
    args = parser.parse_args()
    if args.load:
        rows = json.loads(args.load.read_text())
    else:
        rows = collect(args.turns, args.conditions.split(","), args.cache)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    for condition in dict.fromkeys(r["condition"] for r in rows):
        print(f"\n{condition}:\n" + table([r for r in rows if r["condition"] == condition]))


if __name__ == "__main__":
    main()
