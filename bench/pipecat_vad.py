"""Baseline for ``bench/micro.py``: Pipecat's ``SileroVADAnalyzer``, one analyzer per call, on a given WAV.

Runs under a separate interpreter that has Pipecat (it is never a Callbridge dependency):

    python -m venv /tmp/pipecat-venv && /tmp/pipecat-venv/bin/pip install 'pipecat-ai==1.14.0'
    /tmp/pipecat-venv/bin/python bench/pipecat_vad.py AUDIO.wav --calls 1 32

Prints one JSON object: CPU microseconds per 20 ms frame per call, for each number of calls, and the
resident memory each added analyzer costs. The analyzer's own work (``_run_analyzer``: buffering,
ONNX inference, volume, state machine) is called directly, without its per-call thread executor.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import wave
from importlib.metadata import version
from pathlib import Path

import numpy as np
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("wav", type=Path)
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    logger.remove()
    with wave.open(str(args.wav), "rb") as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    frame = rate // 50
    frames = len(audio) // frame
    out: dict[str, object] = {"pipecat": version("pipecat-ai"), "rate": rate, "us_per_frame": {}}
    for calls in args.calls:
        before = rss()
        analyzers = [SileroVADAnalyzer(sample_rate=rate) for _ in range(calls)]
        for analyzer in analyzers:
            analyzer.set_sample_rate(rate)  # what a Pipecat transport does when the stream starts
        added = (rss() - before) / calls
        streams = [np.roll(audio, -((i * 2711) % len(audio))).tobytes() for i in range(calls)]
        start = time.process_time()
        for index in range(frames):
            begin, end = index * frame * 2, (index + 1) * frame * 2
            for analyzer, stream in zip(analyzers, streams, strict=True):
                analyzer._run_analyzer(stream[begin:end])
        elapsed = time.process_time() - start
        out["us_per_frame"][str(calls)] = 1e6 * elapsed / (frames * calls)  # type: ignore[index]
        out[f"rss_per_analyzer_bytes_{calls}"] = added
    out["threads"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
