"""Time to a reply's first audio on the TTS side, stage by stage, each beside a baseline of the same run.

- The first piece of typical replies as ``split_sentences`` cuts it: a long first sentence gives up its
  first clause from more than 12 words (before) or more than 8 (now); Piper time of that piece.
- Piper per piece length: synthesis time of a first piece of 2 to 16 words, one ONNX thread vs two.
- One piece's render path: phonemize, ONNX, resample to the channel rate, write the WAV (``SpeechSpool``),
  and the echo reference the controller reads back from it.
- Two pieces rendered at once (the controller starts every piece of a reply together): when the second
  piece reaches Piper first, how long the first piece waits, with the whole synthesis under one lock
  (the previous ``PiperTTS``) vs only the phonemizer under it (now); and the pieces rendered one after
  the other in speaking order with two ONNX threads (a proposal for the controller).

Medians of repeated runs, wall clock; compare within a run.

    python bench/tts_first.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from procstat import machine

from app.control.sentences import split_sentences
from app.media.echo import wav_reference_levels
from app.tts.base import Audio, SpeechSpool, write_wav
from app.tts.piper import PiperTTS

PIECES = (
    "Sure, Maria.",
    "Thank you, Maria Smith.",
    "Which day works best for you?",
    "I can book that for you on Tuesday afternoon.",
    "I can book that for you on Tuesday afternoon, or on Wednesday morning if you prefer.",
)
REPLIES = (
    "All right, I will let the office know you cannot make it. Goodbye.",
    "Of course, I can book that for you on Tuesday afternoon.",
    "Sure, let me check the calendar for next week.",
    "I have you down for Tuesday at three, is that right?",
    "Thanks, Maria, your appointment is confirmed for Tuesday at three.",
    "Okay, what name should I put the appointment under?",
    "I'm sorry, I didn't quite catch that, could you say it again?",
    "Can you make it? Say yes to confirm, or say reschedule for a new time.",
    "Thank you, Maria Smith. Your request is noted. Goodbye.",
    "No problem, we will call you back tomorrow morning.",
)
FIRST, SECOND = "Sure, Maria Smith.", "Which day works best for you next week, morning or afternoon?"
REPEAT = 7
SURNAMES = ("Smith", "Garcia", "Jones", "Brown")  # cache misses of the same length as FIRST


def median_ms(work: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


class WholeLock:
    """The previous PiperTTS: every synthesis, ONNX run included, under one lock."""

    def __init__(self, voice: PiperTTS) -> None:
        self.voice = voice
        self.lock = threading.Lock()

    def synthesize(self, text: str) -> Audio:
        with self.lock:
            return self.voice.synthesize(text)


def first_piece_wait(engine: PiperTTS | WholeLock) -> float:
    """ms until the first piece is synthesised when the second piece's thread got to Piper first."""
    done: dict[str, float] = {}
    began = time.perf_counter()

    def render(text: str) -> None:
        engine.synthesize(text)
        done[text] = time.perf_counter()

    second = threading.Thread(target=render, args=(SECOND,))
    first = threading.Thread(target=render, args=(FIRST,))
    second.start()
    time.sleep(0.002)
    first.start()
    first.join()
    second.join()
    return 1000 * (done[FIRST] - began)


def main() -> None:
    print(f"machine: {machine()}\n")
    one, two = PiperTTS(threads=1), PiperTTS(threads=2)
    one.synthesize("Warm up.")
    two.synthesize("Warm up.")
    print("| first piece | words | audio ms | Piper 1 thread ms | Piper 2 threads ms | 2 threads / 1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for text in PIECES:
        audio = one.synthesize(text)
        single, double = (
            median_ms(lambda t=text: one.synthesize(t)),
            median_ms(lambda t=text: two.synthesize(t)),
        )
        print(
            f"| {text} | {len(text.split())} | {audio.duration_ms} | {single:.0f} | {double:.0f} "
            f"| {double / single:.2f}x |"
        )

    print("\n| render path of the first piece (SIP 8 kHz / WebRTC 16 kHz) | 8 kHz ms | 16 kHz ms |")
    print("|---|---:|---:|")
    voice = one
    audio = voice.synthesize(FIRST)
    with tempfile.TemporaryDirectory() as tmp:
        spool = SpeechSpool(voice, Path(tmp))
        stages: dict[str, list[float]] = {}
        for rate in (8000, 16000):
            path = Path(tmp) / f"x-{rate}.wav"
            resampled = audio.resampled(rate)
            write_wav(path, resampled)
            names = iter(f"Sure, Maria {surname}." for surname in SURNAMES * 4)
            for name, work in (
                ("phonemize (espeak-ng, under the lock)", lambda: voice._voice.phonemize(FIRST)),
                ("Piper synthesis (phonemize + ONNX)", lambda: voice.synthesize(FIRST)),
                ("resample 22.05 kHz -> channel rate (soxr HQ)", lambda r=rate: audio.resampled(r)),
                ("write the WAV", lambda p=path, a=resampled: write_wav(p, a)),
                ("echo reference levels read back (controller)", lambda p=path: wav_reference_levels(p)),
                (
                    "SpeechSpool.render, cache miss (all of the above but the levels)",
                    lambda r=rate, n=names: spool.render(next(n), r),
                ),
                ("SpeechSpool.render, cache hit", lambda r=rate: spool.render(FIRST, r)),
            ):
                stages.setdefault(name, []).append(median_ms(work))
        for name, (narrow, wide) in stages.items():
            print(f"| {name} | {narrow:.1f} | {wide:.1f} |")

    whole = WholeLock(PiperTTS(threads=1))
    whole.synthesize("Warm up.")
    before = statistics.median(first_piece_wait(whole) for _ in range(REPEAT))
    after = statistics.median(first_piece_wait(one) for _ in range(REPEAT))
    alone = median_ms(lambda: one.synthesize(FIRST))
    in_order = median_ms(lambda: two.synthesize(FIRST))
    print(
        "\n| two pieces of a reply | first piece ready ms |\n|---|---:|\n"
        f"| first piece alone, 1 thread (reference) | {alone:.0f} |\n"
        f"| both at once, second first at Piper: whole synthesis under one lock (before) | {before:.0f} |\n"
        f"| both at once, second first at Piper: only the phonemizer under the lock (now) | {after:.0f} |\n"
        f"| one after the other in speaking order, 2 threads (proposed for the controller) | {in_order:.0f} |\n"
        f"| now / before | {after / before:.2f}x |"
    )

    print(
        "\n| reply | first piece, clause from 13 words (before) | ms | first piece, from 9 words (now) | ms |"
    )
    print("|---|---|---:|---|---:|")
    totals = [0.0, 0.0]
    for reply in REPLIES:
        cells = [reply]
        for i, clause_words in enumerate((6, 4)):
            piece = split_sentences(reply, first_clause_words=clause_words)[0]
            took = median_ms(lambda p=piece: one.synthesize(p), repeat=5)
            totals[i] += took
            cells += [piece, f"{took:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"| mean | | {totals[0] / len(REPLIES):.0f} | | {totals[1] / len(REPLIES):.0f} |")


if __name__ == "__main__":
    main()
