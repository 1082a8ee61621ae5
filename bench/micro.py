"""Micro-benchmarks of the hot paths, each beside a baseline measured in the same run on the same audio.

- VAD: Silero inference per window, one call per inference vs windows of many calls batched; the whole
  listening stage (VAD + segmenter) per 20 ms frame per call, ours vs Pipecat's ``SileroVADAnalyzer``
  (optional, run in its own interpreter: see ``bench/pipecat_vad.py``).
- Resampling per 20 ms frame (48 kHz -> 16 kHz): a streaming soxr resampler vs one-shot soxr per frame.
- mu-law per 20 ms frame: our numpy G.711 codec vs the C ``audioop`` of the standard library.
- TTS time to first audio: the first sentence alone (what the controller renders first) vs the whole
  reply in one synthesis.
- STT time per second of speech: Whisper tiny.en with beam 1 (ours) vs beam 5 (faster-whisper's default).

Times are medians of repeated runs (wall clock, one process); ratios matter more than absolute times on
shared machines.

    python bench/micro.py [--pipecat-python /tmp/pipecat-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import machine
from vad_bench import memory_per_call, test_audio
from vad_bench import run as listening_stage_us

from app.media.speechset import mulaw_decode, mulaw_encode, telephone
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.vad.silero import VadState, shared_model, to_float

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

REPLY = "Sure, Maria Garcia. Which day works best for you? We are open from nine to five."
PIPECAT_PIN = "pipecat-ai==1.14.0"


def median_us(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Median over ``repeat`` rounds of the mean microseconds per call of ``fn``."""
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append(1e6 * (time.perf_counter() - start) / number)
    return statistics.median(rounds)


def row(name: str, ours: float, baseline: float, unit: str, base_name: str) -> str:
    return f"| {name} | {ours:.1f} {unit} | {baseline:.1f} {unit} ({base_name}) | {baseline / ours:.2f}x |"


def vad_rows(audio: np.ndarray) -> list[str]:
    model = shared_model()
    windows = [audio[i : i + 256] for i in range(0, len(audio) - 256, 256)][:400]
    single_state = VadState(8000)
    single = iter(windows * 100)
    per_window_single = median_us(lambda: model.infer([single_state], to_float(next(single))[None, :]), 300)
    rows = []
    for batch in (32, 128):
        states = [VadState(8000) for _ in range(batch)]
        stacked = to_float(np.stack([windows[i % len(windows)] for i in range(batch)]))
        per_window = median_us(lambda s=states, b=stacked: model.infer(s, b), 30) / batch  # type: ignore[misc]
        rows.append(
            row(
                f"VAD inference per window, batch of {batch}",
                per_window,
                per_window_single,
                "us",
                "batch of 1",
            )
        )
    return rows


def listening_rows(audio: np.ndarray, pipecat_python: str | None, workdir: Path) -> list[str]:
    calls = (1, 32)
    ours = {n: listening_stage_us(audio, n, batched=True) for n in calls}
    per_call = {n: listening_stage_us(audio, n, batched=False) for n in calls}
    rows = [
        row(
            f"listening stage per 20 ms per call, {n} calls", ours[n], per_call[n], "us", "per-call inference"
        )
        for n in calls
    ]
    if pipecat_python is None:
        rows.append(
            f"| Pipecat SileroVADAnalyzer | not run: `python -m venv /tmp/pipecat-venv && "
            f"/tmp/pipecat-venv/bin/pip install '{PIPECAT_PIN}'`, then `--pipecat-python` | | |"
        )
        return rows
    wav = workdir / "listening.wav"
    write_wav(wav, Audio(audio, 8000))
    command = [
        pipecat_python,
        str(Path(__file__).with_name("pipecat_vad.py")),
        str(wav),
        "--calls",
        *map(str, calls),
    ]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    for n in calls:
        theirs = float(result["us_per_frame"][str(n)])
        rows.append(
            row(
                f"listening stage per 20 ms per call, {n} calls",
                ours[n],
                theirs,
                "us",
                f"Pipecat {result['pipecat']} SileroVADAnalyzer",
            )
        )
    rows.append(
        f"| memory per added call (ours: VAD state + segmenter) | {memory_per_call() / 1024:.0f} KiB | | |"
    )
    rows.append(
        f"| memory per added Pipecat analyzer | | {result[f'rss_per_analyzer_bytes_{calls[-1]}'] / 2**20:.1f} MB | |"
    )
    return rows


def codec_rows(audio: np.ndarray) -> list[str]:
    wide = soxr.resample(audio.astype(np.float32), 8000, 48000).astype(np.int16)
    frames = [wide[i : i + 960] for i in range(0, len(wide) - 960, 960)][:500]
    stream = soxr.ResampleStream(48000, 16000, 1, "int16")
    it1, it2 = iter(frames * 50), iter(frames * 50)
    streaming = median_us(lambda: stream.resample_chunk(next(it1)), 2000)
    one_shot = median_us(lambda: soxr.resample(next(it2), 48000, 16000), 2000)
    narrow = audio[:160].astype(np.int16)
    raw = narrow.tobytes()
    ours_codec = median_us(lambda: mulaw_decode(mulaw_encode(narrow)), 5000)
    stdlib_codec = median_us(lambda: audioop.ulaw2lin(audioop.lin2ulaw(raw, 2), 2), 5000)
    return [
        row(
            "resample 48 kHz -> 16 kHz per 20 ms frame", streaming, one_shot, "us", "one-shot soxr per frame"
        ),
        row("mu-law encode + decode per 20 ms frame (8 kHz)", ours_codec, stdlib_codec, "us", "audioop (C)"),
        f"| mu-law codes equal to audioop's, all 65536 inputs | {mulaw_agreement():.2%} | | |",
    ]


def mulaw_agreement() -> float:
    every = np.arange(-32768, 32768, dtype=np.int16)
    ours = mulaw_encode(every)
    theirs = np.frombuffer(audioop.lin2ulaw(every.tobytes(), 2), dtype=np.uint8)
    return float((ours == theirs).mean())


def tts_rows() -> list[str]:
    voice = PiperTTS()
    first_sentence = REPLY.split(". ", maxsplit=1)[0] + "."
    voice.synthesize("Warm up.")
    first = median_us(lambda: voice.synthesize(first_sentence), 1, repeat=5) / 1000
    whole_audio = voice.synthesize(REPLY)
    whole = median_us(lambda: voice.synthesize(REPLY), 1, repeat=5) / 1000
    rtf = whole / whole_audio.duration_ms
    return [
        row("TTS time to first audio (Piper, first sentence)", first, whole, "ms", "whole reply at once"),
        f"| TTS real-time factor (synthesis time / audio time) | {rtf:.3f} | | |",
    ]


def stt_rows() -> list[str]:
    from app.stt.whisper import WhisperRecognizer  # noqa: PLC0415 - heavy import, only here

    voice = PiperTTS()
    speech = voice.synthesize("Hi, I would like to book an appointment for next week, please.")
    line = telephone(speech.samples, speech.rate, 8000)
    seconds = len(line) / 8000
    ours, default = WhisperRecognizer(beam_size=1), WhisperRecognizer(beam_size=5)
    ours.transcribe(line, 8000)
    default.transcribe(line, 8000)
    fast = median_us(lambda: ours.transcribe(line, 8000), 1, repeat=5) / 1000 / seconds
    slow = median_us(lambda: default.transcribe(line, 8000), 1, repeat=5) / 1000 / seconds
    return [row("STT per second of speech (Whisper tiny.en, beam 1)", fast, slow, "ms", "beam 5")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipecat-python", help=f"an interpreter with {PIPECAT_PIN} installed")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds of speech per call (listening stage)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    if (
        args.pipecat_python
        and subprocess.run([args.pipecat_python, "-c", "import pipecat"], check=False).returncode
    ):
        raise SystemExit(f"{args.pipecat_python} cannot import pipecat: install {PIPECAT_PIN} there first")
    print(f"machine: {machine()}")
    audio = test_audio(args.seconds)
    print("| hot path | ours | baseline (same run) | baseline / ours |")
    print("|---|---:|---:|---:|")
    sections: list[Callable[[], list[str]]] = [
        lambda: vad_rows(audio),
        lambda: listening_rows(audio, args.pipecat_python, args.workdir),
        lambda: codec_rows(audio),
        tts_rows,
        stt_rows,
    ]
    for section in sections:
        for line in section():
            print(line, flush=True)


if __name__ == "__main__":
    main()
