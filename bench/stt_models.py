"""Whisper tiny.en against base on noisy phone speech, with and without noise suppression and a hint.

A small labelled set: caller-like sentences (``bench/stt_options.SENTENCES``) in Piper's voice and, when
``espeak-ng`` is installed, its en-us and en-gb voices; each through G.711 mu-law at 8 kHz, trimmed to its
speech with 0.3 s of line silence either side, and mixed with noise at ``--snr`` dB. Variants: the model
alone, after RNNoise (``pyrnnoise``, 48 kHz, if installed) and with a fixed domain hint (``hotwords``,
the ``hint`` argument of ``WhisperRecognizer.transcribe``). Also the non-speech clips of stt_options.
Prints WER, non-speech clips that got words, runaway decodes caught, and median / p95 ms per decode
(one at a time; compare within a run).

    python bench/stt_models.py --sentences 12 --snr 10
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_speech import edit_distance, words
from stt_options import SENTENCES, non_speech

from app.media.speechset import Spoken, add_noise, espeak, speech_span, telephone
from app.stt.models import resolve_model
from app.stt.whisper import WhisperRecognizer
from app.tts.piper import PiperTTS

HINT = "yes, no, appointment, Tuesday, Thursday, billing, invoice, subscription, account number, email"
Clip = tuple[np.ndarray, str]


def voices() -> dict[str, Callable[[str], tuple[np.ndarray, int]]]:
    piper = PiperTTS()
    found: dict[str, Callable[[str], tuple[np.ndarray, int]]] = {
        "piper": lambda text: (piper.synthesize(text).samples, piper.synthesize(text).rate)
    }
    if shutil.which("espeak-ng"):
        found["espeak-us"] = lambda text: espeak(text, voice="en-us", speed=160)
        found["espeak-gb"] = lambda text: espeak(text, voice="en-gb", speed=150)
    return found


def clips(count: int, snr_db: float, seed: int) -> list[Clip]:
    rng = np.random.default_rng(seed)
    out: list[Clip] = []
    for name, synthesize in voices().items():
        for text in SENTENCES[:count]:
            raw, rate = synthesize(text)
            line = telephone(raw, rate, 8000)
            first, last = speech_span(line, 8000)
            pad = np.zeros(2400, dtype=np.int16)
            samples = np.concatenate([pad, line[first:last], pad])
            noisy = add_noise(samples, [Spoken(len(pad), len(pad) + last - first, text)], snr_db, rng)
            out.append((noisy, text))
        print(f"  {name}: {count} sentences", file=sys.stderr)
    return out


def rnnoise(samples: np.ndarray) -> np.ndarray:
    """RNNoise at 48 kHz (its only rate), back to 8 kHz."""
    from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, process_mono_frame  # noqa: PLC0415

    wide = soxr.resample(samples.astype(np.float32), 8000, 48000)
    frames = np.clip(np.round(wide), -32768, 32767).astype(np.int16)
    state = create()
    try:
        out = [
            process_mono_frame(state, frames[i : i + FRAME_SIZE])[0]
            for i in range(0, len(frames), FRAME_SIZE)
        ]
    finally:
        destroy(state)
    narrow = soxr.resample(np.concatenate(out).astype(np.float32), 48000, 8000)
    return np.clip(np.round(narrow), -32768, 32767).astype(np.int16)


def run(
    engine: WhisperRecognizer, data: list[Clip], noise: list[np.ndarray], denoise: bool, hint: str | None
) -> str:
    errors = total = 0
    times: list[float] = []
    for samples, text in data:
        audio = rnnoise(samples) if denoise else samples
        start = time.perf_counter()
        heard = engine.transcribe(audio, 8000, hint=hint).text
        times.append(1000 * (time.perf_counter() - start))
        errors += edit_distance(words(text), words(heard))
        total += len(words(text))
    false = sum(bool(engine.transcribe(rnnoise(c) if denoise else c, 8000, hint=hint).text) for c in noise)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return (
        f"WER {100 * errors / total:5.1f} %  non-speech with words {false}/{len(noise)}  "
        f"decode ms p50 {statistics.median(times):5.0f} p95 {p95:5.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--snr", type=float, default=10.0)
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    data = clips(args.sentences, args.snr, args.seed)
    noise = non_speech(8000, np.random.default_rng(args.seed))
    try:
        import pyrnnoise  # noqa: F401, PLC0415

        denoisers = [False, True]
    except ImportError:
        denoisers = [False]
    print(f"{len(data)} utterances at {args.snr:g} dB SNR, 8 kHz mu-law; {len(noise)} non-speech clips")
    for name in args.models.split(","):
        engine = WhisperRecognizer(resolve_model(name), workers=1)
        for denoise in denoisers:
            for hint in (None, HINT):
                label = f"{name:8s} {'rnnoise' if denoise else '-':8s} {'hint' if hint else '-':5s}"
                print(
                    f"{label} {run(engine, data, noise, denoise, hint)}  runaways {engine.retries}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
