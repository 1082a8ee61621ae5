"""Whisper's options, each against the settings we run, on the same caller-like utterances.

A labelled set of caller-like English sentences (Piper's voice and, when ``espeak-ng`` is installed, its
en-us voice as a second, harder speaker), laid out with silence, through each call type's line (SIP:
G.711 mu-law at 8 kHz; WebRTC: wideband 16 kHz), clean or with noise, cut into utterances by the real
Silero VAD and segmenter. Each variant transcribes the same utterances and a set of non-speech clips
(line noise, hum, clicks, a breath-like hiss) that must give no words. Per variant: WER, utterances whose
words differ from the 30 s window's, non-speech clips that got words, and the median and p95 time per utterance (one
decode at a time; the machine's other load shows in the absolute times, so compare within a run).

Variants: ours (``WhisperRecognizer()``: the full 30 s window, faster-whisper's own path, the baseline
of the "differ" column); the opt-in ``short_window_s=10`` (a 10 s encoder window kept only when Whisper
finds the result plainly speech, else the 30 s window); with the 30 s window: one thread per decode,
timestamps on, faster-whisper's VAD filter on, beam 5; and a 10 s or 6 s window always, without the
checks (the ``audio_ctx`` trick: CTranslate2 accepts a shorter input).

    python bench/stt_options.py                                  # SIP clean and WebRTC at 10 dB SNR
    python bench/stt_options.py --conditions sip:clean,sip:10,webrtc:clean,webrtc:10
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_speech import edit_distance, words

from app.config import load_settings
from app.domain import CallType
from app.media.segmenter import Segmenter, UtteranceEnded
from app.media.speech_setup import profiles_from
from app.media.speechset import Spoken, add_noise, espeak, resample, speech_span, telephone
from app.stt.whisper import WhisperRecognizer
from app.tts.piper import PiperTTS
from app.vad.silero import VadState, shared_model, to_float, window_samples

SENTENCES = (
    "Yes.",
    "No, thank you.",
    "Hello?",
    "Yes, that's right.",
    "Can you repeat that, please?",
    "I'd like to book an appointment for next Tuesday.",
    "My name is Maria Garcia.",
    "The number is five five five, two three four, nine eight seven six.",
    "I'm calling about my last invoice, the amount looks wrong.",
    "Could you transfer me to someone in billing?",
    "Sorry, I didn't catch that.",
    "Tomorrow morning at ten would work for me.",
    "I want to cancel my subscription.",
    "What time do you close on Saturdays?",
    "It's about the order I placed last week, it still hasn't arrived.",
    "Please call me back later.",
    "Not right now, I'm driving.",
    "My account number is seven four two eight one.",
    "Is there a cheaper plan available?",
    "Okay, goodbye.",
    "I already paid that bill on the fifteenth of March.",
    "Can I speak to a real person?",
    "The address is twelve Oak Street, apartment four.",
    "Thursday afternoon, around three o'clock.",
    "I'm not sure, let me check with my wife and call you back.",
    "That sounds good to me.",
    "How much does the premium package cost per month?",
    "Could you send me the details by email?",
    "I think there has been a mistake with my booking.",
    "Thanks for your help, have a nice day.",
)
NON_SPEECH_S = (0.4, 1.0, 2.0)
Synthesize = Callable[[str], tuple[np.ndarray, int]]
Utterance = tuple[np.ndarray, int, str]  # audio, rate, what was said


def line_clip(
    texts: Sequence[str], synthesize: Synthesize, call_type: CallType, snr_db: float | None, seed: int
) -> tuple[np.ndarray, int, list[Spoken]]:
    """Sentences separated by 1.2 s of silence through the call type's line, with noise at ``snr_db``."""
    rate = 8000 if call_type == CallType.SIP else 16000
    pieces = [np.zeros(rate * 8 // 10, dtype=np.int16)]
    spoken: list[Spoken] = []
    offset = len(pieces[0])
    for text in texts:
        raw, raw_rate = synthesize(text)
        line = telephone(raw, raw_rate, 8000) if call_type == CallType.SIP else resample(raw, raw_rate, rate)
        first, last = speech_span(line, rate)
        gap = np.zeros(rate * 12 // 10, dtype=np.int16)
        spoken.append(Spoken(offset, offset + last - first, text))
        pieces += [line[first:last], gap]
        offset += last - first + len(gap)
    samples = np.concatenate(pieces)
    if snr_db is not None:
        samples = add_noise(samples, spoken, snr_db, np.random.default_rng(seed))
    return samples, rate, spoken


def utterances(samples: np.ndarray, rate: int, spoken: list[Spoken], call_type: CallType) -> list[Utterance]:
    """The segmenter's utterances, each with the words said in it (as the live pipeline cuts them)."""
    profile = profiles_from(load_settings({}))[call_type]
    size = window_samples(rate)
    model, state, segmenter = shared_model(), VadState(rate), Segmenter(profile, rate)
    ended: list[UtteranceEnded] = []
    for start in range(0, len(samples) - size + 1, size):
        window = samples[start : start + size]
        p = float(model.infer([state], to_float(window)[None, :])[0])
        ended.extend(e for e in segmenter.push(window, p) if isinstance(e, UtteranceEnded))
    out: list[Utterance] = []
    for e in ended:
        said = [
            s.text for s in spoken if 1000 * s.start / rate < e.end_ms and 1000 * s.end / rate > e.start_ms
        ]
        out.append((e.audio, rate, " ".join(said)))
    return out


def non_speech(rate: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Clips with no words: line noise, mains hum, clicks, breath-like hiss, at a few lengths."""
    clips = []
    for seconds in NON_SPEECH_S:
        n = int(seconds * rate)
        t = np.arange(n) / rate
        white = rng.standard_normal(n)
        pink = np.cumsum(white) * 0.05
        pink -= np.convolve(pink, np.ones(200) / 200, mode="same")
        clicks = np.zeros(n)
        clicks[rng.integers(0, n, 6)] = 1.0
        breath = np.convolve(white, np.hanning(40), mode="same") * np.hanning(n)
        for signal, level in (
            (pink, 800),
            (np.sin(2 * np.pi * 60 * t), 1500),
            (clicks, 12000),
            (breath, 600),
        ):
            scaled = signal / (np.max(np.abs(signal)) or 1.0) * level
            clips.append(np.clip(scaled, -32768, 32767).astype(np.int16))
    return clips


Transcribe = Callable[[np.ndarray, int], str]


def faster_whisper_text(engine: WhisperRecognizer, **overrides: Any) -> Transcribe:
    """``engine``'s model through faster-whisper's ``transcribe`` with some options changed."""
    options: dict[str, Any] = {
        "language": "en",
        "beam_size": 1,
        "best_of": 1,
        "temperature": 0.0,
        "condition_on_previous_text": False,
        "without_timestamps": True,
        "vad_filter": False,
        **overrides,
    }

    def transcribe(samples: np.ndarray, rate: int) -> str:
        audio = to_model_rate(samples, rate)
        segments, _ = engine._model.transcribe(audio, **options)
        return " ".join(
            s.text.strip() for s in segments if not (s.no_speech_prob > 0.6 and s.avg_logprob < -1.0)
        )

    return transcribe


def cut_window_text(engine: WhisperRecognizer, seconds: float) -> Transcribe:
    """Greedy decoding on an encoder input of ``seconds`` (the utterance's features, padded or cut)."""
    from faster_whisper.audio import pad_or_trim  # noqa: PLC0415
    from faster_whisper.tokenizer import Tokenizer  # noqa: PLC0415

    model = engine._model
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    suppress = sorted(
        {*tokenizer.non_speech_tokens, tokenizer.transcribe, tokenizer.translate, tokenizer.sot}
        | {tokenizer.sot_prev, tokenizer.sot_lm, tokenizer.no_speech}
    )
    frames = 2 * math.ceil(seconds * 50)

    def transcribe(samples: np.ndarray, rate: int) -> str:
        features = model.feature_extractor(to_model_rate(samples, rate))[..., :-1]
        encoded = model.encode(pad_or_trim(features, frames))
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_tokens=suppress,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > 0.6 and avg_logprob < -1.0:
            return ""
        return str(tokenizer.decode(tokens)).strip()

    return transcribe


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    audio = samples.astype(np.float32) / 32768.0
    return audio if rate == 16000 else soxr.resample(audio, rate, 16000).astype(np.float32)


def variants() -> dict[str, Transcribe]:
    short = WhisperRecognizer(short_window_s=10.0)
    full = WhisperRecognizer()
    one_thread = WhisperRecognizer(threads=1)
    return {
        "ours: 30 s window (faster-whisper's own path), 2 threads": lambda s, r: full.transcribe(s, r).text,
        "opt-in short_window_s=10: 10 s window when sure, else 30 s": lambda s, r: (
            short.transcribe(s, r).text
        ),
        "30 s window, 1 thread per decode": lambda s, r: one_thread.transcribe(s, r).text,
        "30 s window, timestamps on": faster_whisper_text(full, without_timestamps=False),
        "30 s window, VAD filter on": faster_whisper_text(full, vad_filter=True),
        "30 s window, beam 5": faster_whisper_text(full, beam_size=5),
        "10 s window always (no check)": cut_window_text(full, 10.0),
        "6 s window always (no check)": cut_window_text(full, 6.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conditions", default="sip:clean,webrtc:10", help="call type:clean or SNR dB, ...")
    parser.add_argument(
        "--only", help="run only the variants whose name contains one of these (comma-separated)"
    )
    args = parser.parse_args()
    piper = PiperTTS()
    voices: dict[str, Synthesize] = {"piper": lambda text: (piper.synthesize(text).samples, piper.rate)}
    if shutil.which("espeak-ng"):
        voices["espeak"] = lambda text: espeak(text, voice="en-us", speed=160)
    else:
        print("espeak-ng not installed: Piper's voice only", file=sys.stderr)
    engines = variants()
    if args.only:
        wanted = args.only.split(",")
        engines = {name: run for name, run in engines.items() if any(w in name for w in wanted)}
    rows = []
    for condition in args.conditions.split(","):
        kind, _, level = condition.partition(":")
        call_type, snr = CallType(kind), None if level == "clean" else float(level)
        said: list[Utterance] = []
        for seed, synthesize in enumerate(voices.values()):
            samples, rate, spoken = line_clip(SENTENCES, synthesize, call_type, snr, seed)
            said += utterances(samples, rate, spoken, call_type)
        rate = said[0][1]
        quiet = non_speech(rate, np.random.default_rng(7))
        reference_words = sum(len(words(t)) for _, _, t in said)
        first: list[str] = []
        for name, transcribe in engines.items():
            transcribe(said[0][0], rate)  # warm-up
            heard, times = [], []
            for audio, _, _ in said:
                began = time.perf_counter()
                heard.append(transcribe(audio, rate))
                times.append(1000 * (time.perf_counter() - began))
            first = first or heard
            errors = sum(edit_distance(words(t), words(h)) for (_, _, t), h in zip(said, heard, strict=True))
            changed = sum(words(a) != words(b) for a, b in zip(first, heard, strict=True))
            invented = sum(bool(transcribe(clip, rate)) for clip in quiet)
            rows.append(
                f"| {call_type.value} {'clean' if snr is None else f'{snr:g} dB'} | {name} | {len(said)} "
                f"| {100 * errors / reference_words:.1f} % | {changed} | {invented}/{len(quiet)} "
                f"| {statistics.median(times):.0f} | {np.percentile(times, 95):.0f} |"
            )
            print(f"{condition} {name}: done", file=sys.stderr, flush=True)
    print(f"voices: {', '.join(voices)}; {len(SENTENCES)} sentences each\n")
    print(
        "| line | variant | utterances | WER | utterances whose words differ from the 30 s window "
        "| non-speech clips with words | median ms | p95 ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
