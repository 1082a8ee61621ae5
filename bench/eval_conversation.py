"""Conversational benchmark of the listening stage, BEFORE vs AFTER in one run (issue 13).

The set (bench/conversation_set.py) is rendered once into a cache directory; each tree then hears the
same WAVs in its own subprocess, with ``sys.path`` and the working directory on that tree, through the
live worker's own building blocks: ``speech_worker_from(settings)`` builds the ``SpeechWorker`` (VAD
batcher, STT engine, segmenter profiles and whatever end-of-turn logic the tree has) and each clip is one
call, a ``SpeechListener`` fed 20 ms frames of 8 kHz L16 as mod_audio_stream sends them, its messages
recorded by a fake ``send``. Frames are fed as fast as the tree can take them: after each frame the
runner waits until every thread-pool job (VAD, STT, anything else the tree spawns) is done, so results
depend on audio time only, as the segmenter's do.

    python bench/eval_conversation.py                                 # BEFORE (/tmp/cb-before) vs this tree
    python bench/eval_conversation.py --before /tmp/cb-before --after . --turns 38 \
        --conditions clean,20db+loss5,5db
    python bench/eval_conversation.py run --tree /tmp/cb-before --set DIR --out before.json  # one tree

Make the BEFORE tree with ``git worktree add /tmp/cb-before <commit>``. AMD confusion on the same kind of
audio is bench/amd_eval.py's job, not this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FRAME_SAMPLES = 160  # 20 ms at 8 kHz


# -- runner: one tree, in its own process ---------------------------------------------------------------


class _Inflight:
    """Counts thread-pool jobs whose caller has not yet taken the result (patched into ThreadPool)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def install(self) -> None:
        import gevent.threadpool  # noqa: PLC0415

        tracker = self
        original = gevent.threadpool.ThreadPool.spawn

        class Tracked:
            def __init__(self, result: Any) -> None:
                self._result, self._done = result, False

            def get(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    return self._result.get(*args, **kwargs)
                finally:
                    if not self._done:
                        self._done = True
                        with tracker.lock:
                            tracker.count -= 1

            def __getattr__(self, name: str) -> Any:
                return getattr(self._result, name)

        def spawn(pool: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
            with tracker.lock:
                tracker.count += 1
            return Tracked(original(pool, func, *args, **kwargs))

        gevent.threadpool.ThreadPool.spawn = spawn  # type: ignore[method-assign]

    def settle(self, timeout_s: float = 120.0) -> None:
        """Return once no job is pending and every woken greenlet has had its turn."""
        import gevent  # noqa: PLC0415

        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < 3:
            gevent.sleep(0)
            if self.count == 0:
                quiet += 1
                continue
            quiet = 0
            gevent.sleep(0.0005)
            if time.monotonic() > deadline:
                print(f"warning: {self.count} pool jobs never collected; going on", file=sys.stderr)
                return


def _read_wav(path: Path) -> Any:
    import numpy as np  # noqa: PLC0415

    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def run_tree(tree: Path, set_dir: Path, out: Path) -> None:
    """Feed every clip of the set to the tree's worker; write its messages as JSON."""
    tree = tree.resolve()
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    inflight = _Inflight()
    inflight.install()
    import uuid  # noqa: PLC0415

    import app  # noqa: PLC0415

    if not Path(app.__file__).resolve().is_relative_to(tree):
        raise SystemExit(f"imported app from {app.__file__}, not from {tree}")
    import numpy as np  # noqa: PLC0415

    from app.config import load_settings  # noqa: PLC0415
    from app.domain import CallType, parse_call_id  # noqa: PLC0415
    from app.media.speech_setup import speech_worker_from  # noqa: PLC0415
    from app.media.wire import StreamMetadata  # noqa: PLC0415

    began = time.monotonic()
    worker = speech_worker_from(load_settings())
    loaded_s = time.monotonic() - began
    clips = json.loads((set_dir / "manifest.json").read_text())
    results: dict[str, list[dict[str, object]]] = {}
    for n, clip in enumerate(clips):
        samples = _read_wav(set_dir / clip["wav"])
        sent: list[dict[str, object]] = []
        fed = [0]

        def send(
            message: dict[str, object], sent: list[dict[str, object]] = sent, fed: list[int] = fed
        ) -> None:
            sent.append({**message, "fed_ms": 1000 * fed[0] / 8000})

        metadata = StreamMetadata(uuid=parse_call_id(str(uuid.uuid4())), call_type=CallType.SIP, rate=8000)
        listener = worker(metadata, send)
        for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            frame = samples[start : start + FRAME_SAMPLES].astype("<i2").tobytes()
            listener.on_audio(np.frombuffer(frame, dtype="<i2"))
            fed[0] = start + FRAME_SAMPLES
            inflight.settle()
        listener.on_end("closed")
        inflight.settle()
        results[clip["id"]] = sent
        if (n + 1) % 20 == 0:
            print(f"  {tree.name}: {n + 1}/{len(clips)} clips", file=sys.stderr, flush=True)
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "app"], check=False, capture_output=True, text=True
    )
    out.write_text(
        json.dumps(
            {
                "tree": str(tree),
                "commit": commit.stdout.strip()
                + (" + uncommitted app/ changes" if dirty.stdout.strip() else ""),
                "load_s": round(loaded_s, 1),
                "run_s": round(time.monotonic() - began - loaded_s, 1),
                "messages": results,
            }
        )
    )


# -- driver: build the set once, run both trees, print the tables ---------------------------------------


def _run_subprocess(tree: Path, set_dir: Path, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "run",
        "--tree",
        str(tree),
        "--set",
        str(set_dir),
    ]
    subprocess.run([*command, "--out", str(out)], check=True, cwd=tree)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def report(clips: list[Any], runs: dict[str, dict[str, Any]]) -> str:
    """The markdown tables: per condition and over everything, per tree; then per category."""
    sys.path.insert(0, str(HERE))
    from conversation_score import score_clip, summarize  # noqa: PLC0415

    scores = {
        label: {c.id: score_clip(c.category, c.text, c.clauses, run["messages"].get(c.id, [])) for c in clips}
        for label, run in runs.items()
    }
    conditions = list(dict.fromkeys(c.condition for c in clips))
    lines: list[str] = []
    header = None
    for condition in [*conditions, "all"]:
        for label in runs:
            chosen = [scores[label][c.id] for c in clips if condition in ("all", c.condition)]
            row = summarize(chosen).row()
            if header is None:
                header = ["condition", "tree", *row]
                lines += ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(row)]
            lines.append(f"| {condition} | {label} | " + " | ".join(row.values()) + " |")
    lines += ["", "By category, all conditions:", ""]
    lines += ["| category | tree | clips | false cut-offs | WER | end latency p50 / p95 ms | no end after speech |"]
    lines += ["|---|---|---:|---:|---:|---:|---:|"]
    for category in dict.fromkeys(c.category for c in clips):
        for label in runs:
            chosen = [scores[label][c.id] for c in clips if c.category == category]
            row = summarize(chosen).row()
            lines.append(
                f"| {category} | {label} | {len(chosen)} | {row['false cut-offs']} | {row['WER']} | "
                f"{row['end latency p50 / p95 ms']} | {row['no end after speech']} |"
            )
    return "\n".join(lines)


def transcripts(clips: list[Any], runs: dict[str, dict[str, Any]]) -> str:
    """Every clip's reference and what each tree's utterances said (for reading the misses)."""
    out = []
    for c in clips:
        out.append(f"{c.id} [{c.category}, {c.voice}] ref: {c.text!r}")
        for label, run in runs.items():
            said = [
                f"{m.get('decided_ms')}:{m.get('text')!r}"
                for m in run["messages"].get(c.id, [])
                if m.get("type") == "utterance"
            ]
            out.append(f"    {label}: end {c.clauses[-1][1] if c.clauses else '-'} -> {' | '.join(said)}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode")
    one = sub.add_parser("run", help="run one tree over a built set (used by the driver)")
    one.add_argument("--tree", type=Path, required=True)
    one.add_argument("--set", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True)
    parser.add_argument("--before", type=Path, default=Path("/tmp/cb-before"))
    parser.add_argument("--after", type=Path, default=REPO)
    parser.add_argument("--turns", type=int, default=30, help="turns per condition (38: all of them)")
    parser.add_argument(
        "--conditions", default="clean,20db+loss5,5db", help="or 'all'; e.g. clean,10db,5db+loss5"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cb-conversation-set")
    parser.add_argument("--json", type=Path, help="also write both trees' raw messages here")
    parser.add_argument("--transcripts", action="store_true", help="print every clip's transcripts too")
    args = parser.parse_args()
    if args.mode == "run":
        run_tree(args.tree, args.set, args.out)
        return
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(HERE))
    import conversation_set  # noqa: PLC0415

    conditions = (
        conversation_set.ALL_CONDITIONS if args.conditions == "all" else tuple(args.conditions.split(","))
    )
    began = time.monotonic()
    set_dir, clips = conversation_set.build(args.cache, args.turns, conditions)
    print(f"set: {len(clips)} clips in {set_dir} ({time.monotonic() - began:.0f} s)", file=sys.stderr)
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as work:
        for label, tree in (("before", args.before), ("after", args.after)):
            runs[label] = _run_subprocess(tree.resolve(), set_dir, Path(work) / f"{label}.json")
            print(f"{label}: {runs[label]['commit']}, {runs[label]['run_s']} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(runs))
    trees = ", ".join(f"{k} = {v['commit']} ({v['run_s']:.0f} s)" for k, v in runs.items())
    print(f"{len(clips)} clips ({args.turns} turns x {', '.join(conditions)} + noise-only); {trees}\n")
    print(report(clips, runs))
    if args.transcripts:
        print("\n" + transcripts(clips, runs))


if __name__ == "__main__":
    main()
