"""CPU cost of the listening stage (Silero VAD + segmenter) per 20 ms of 8 kHz audio per call.

Compares, on the same audio in the same run:
- baseline: one model inference per call per window (what a per-call analyzer such as Pipecat's
  SileroVADAnalyzer or LiveKit's Silero stream does), segmenter included;
- ours: the windows of all calls batched into one inference per round (``infer_rounds``), segmenter
  included.

    python bench/vad_bench.py [--calls 1 32 128] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.media.segmenter import Segmenter, SegmenterProfile
from app.media.speechset import build_clip
from app.tts.piper import PiperTTS
from app.vad.batcher import infer_rounds
from app.vad.silero import VadState, shared_model, to_float

RATE = 8000
FRAME = 160  # 20 ms
WINDOW = 256


def test_audio(seconds: float) -> np.ndarray:
    tts = PiperTTS()

    def say(text: str) -> tuple[np.ndarray, int]:
        audio = tts.synthesize(text)
        return audio.samples, audio.rate

    clip = build_clip(
        ["Hello, I would like to check the status of my order.", "Yes, that is right, thank you."],
        say,
        snr_db=20,
    )
    repeats = int(np.ceil(seconds * RATE / len(clip.samples)))
    return np.tile(clip.samples, repeats)[: int(seconds * RATE)]


def run(audio: np.ndarray, calls: int, batched: bool) -> float:
    """CPU microseconds per 20 ms frame per call."""
    model = shared_model()
    states = [VadState(RATE) for _ in range(calls)]
    segmenters = [Segmenter(SegmenterProfile(), RATE) for _ in range(calls)]
    # Each call hears the same audio, offset so the calls do not speak in lockstep.
    offsets = [(i * 2711) % len(audio) for i in range(calls)]
    streams = [np.roll(audio, -o) for o in offsets]
    buffered = [0] * calls
    frames = len(audio) // FRAME
    start = time.process_time()
    for frame in range(frames):
        ready: list[int] = []
        for call in range(calls):
            buffered[call] += FRAME
            if buffered[call] >= WINDOW:
                buffered[call] -= WINDOW
                ready.append(call)
        if not ready:
            continue
        position = (frame + 1) * FRAME
        windows = {c: streams[c][position - WINDOW - buffered[c] : position - buffered[c]] for c in ready}
        if batched:
            probabilities = infer_rounds(
                model, [states[c] for c in ready], [[windows[c]] for c in ready], 256
            )
            results = {c: float(p[0]) for c, p in zip(ready, probabilities, strict=True)}
        else:
            results = {c: float(model.infer([states[c]], to_float(windows[c])[None, :])[0]) for c in ready}
        for c in ready:
            segmenters[c].push(windows[c], results[c])
    elapsed = time.process_time() - start
    return 1e6 * elapsed / (frames * calls)


def memory_per_call(calls: int = 100) -> float:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [(VadState(RATE), Segmenter(SegmenterProfile(), RATE)) for _ in range(calls)]
    for state, seg in kept:
        for _ in range(40):  # fill the pre-roll buffer
            seg.push(np.zeros(WINDOW, dtype=np.int16), 0.0)
        del state
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return size / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    audio = test_audio(args.seconds)
    shared_model()
    print(f"listening stage, 8 kHz, {args.seconds:.0f} s of audio per call, CPU us per 20 ms per call")
    print("| calls | baseline (per-call inference) | ours (batched) | speed-up | calls per core (ours) |")
    print("|---:|---:|---:|---:|---:|")
    for calls in args.calls:
        base = run(audio, calls, batched=False)
        ours = run(audio, calls, batched=True)
        print(f"| {calls} | {base:.0f} | {ours:.0f} | {base / ours:.1f}x | {20000 / ours:.0f} |")
    print(
        f"memory per added call (VAD state + segmenter with full pre-roll): {memory_per_call() / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
