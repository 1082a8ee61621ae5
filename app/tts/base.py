"""The speech-out interface and the spool of rendered WAV files FreeSWITCH plays."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import wave
from _thread import LockType
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soxr

from app import metrics
from app.threads import os_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit PCM."""

    samples: np.ndarray  # int16
    rate: int

    @property
    def duration_ms(self) -> int:
        return int(len(self.samples) * 1000 / self.rate)

    def resampled(self, rate: int) -> Audio:
        if rate == self.rate:
            return self
        floats = self.samples.astype(np.float32) / 32768.0
        out = soxr.resample(floats, self.rate, rate, quality="HQ")
        return Audio(np.clip(out * 32768.0, -32768, 32767).astype(np.int16), rate)


class TextToSpeech(Protocol):
    """A speech engine. Implementations load their model once and are safe to call from threads."""

    @property
    def voice_id(self) -> str: ...

    def synthesize(self, text: str) -> Audio: ...


def write_wav(path: Path, audio: Audio) -> None:
    """Write atomically, so FreeSWITCH never reads a half-written file."""
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.rate)
        out.writeframes(audio.samples.astype("<i2").tobytes())
    tmp.replace(path)


def read_wav_duration_ms(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        return int(wav.getnframes() * 1000 / wav.getframerate())




class SpeechSpool:
    """Renders text to WAVs at a given rate in a directory FreeSWITCH can read, cached by content."""

    def __init__(self, tts: TextToSpeech, directory: Path) -> None:
        self.tts = tts
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        # A text asked for twice at once (a rehearsed reply and the real one) is rendered once: the second
        # caller waits for the first render and gets it from the cache. One lock per text in flight.
        self._guard = os_lock()
        self._rendering: dict[Path, tuple[LockType, list[int]]] = {}

    def path_for(self, text: str, rate: int) -> Path:
        key = hashlib.sha256(f"{self.tts.voice_id}\0{rate}\0{text}".encode()).hexdigest()[:24]
        return self.directory / f"tts-{rate}-{key}.wav"

    def prune(self, max_age_s: float, now: float | None = None) -> int:
        """Delete renders not used for ``max_age_s`` (a cache hit refreshes a file's time); returns how many."""
        cutoff = (time.time() if now is None else now) - max_age_s
        removed = 0
        for path in self.directory.glob("tts-*.wav"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        for leftover in self.directory.glob("tts-*.tmp"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
        if removed:
            log.info("speech spool %s: removed %d old render(s)", self.directory, removed)
        return removed

    @contextmanager
    def _in_flight(self, path: Path) -> Iterator[None]:
        with self._guard:
            lock, users = self._rendering.setdefault(path, (os_lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._rendering[path]

    def render(self, text: str, rate: int) -> tuple[Path, int]:
        """Return the WAV's path and duration in ms, rendering it unless it is cached."""
        path = self.path_for(text, rate)
        with self._in_flight(path):
            if not path.exists():
                started = time.perf_counter()
                audio = self.tts.synthesize(text).resampled(rate)
                metrics.tts_rendered(time.perf_counter() - started, audio.duration_ms / 1000)
                write_wav(path, audio)
                log.debug("rendered %d ms of speech to %s", audio.duration_ms, path)
                return path, audio.duration_ms
        os.utime(path)  # in use: keep it out of the next prune
        return path, read_wav_duration_ms(path)
