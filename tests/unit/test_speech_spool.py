"""The spool of rendered speech: cached by voice, rate and text; old renders pruned, used ones kept."""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import numpy as np

from app.tts.base import Audio, SpeechSpool


class ToneVoice:
    """A deterministic engine for the spool's own logic (the real voice is tested in the call tests)."""

    voice_id = "tone"

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, text: str) -> Audio:
        self.calls += 1
        t = np.arange(22050 * len(text) // 10) / 22050
        return Audio((8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16), 22050)


def test_renders_are_cached_per_rate_and_written_at_that_rate(tmp_path: Path) -> None:
    voice = ToneVoice()
    spool = SpeechSpool(voice, tmp_path)
    path8, ms8 = spool.render("Hello there.", 8000)
    assert spool.render("Hello there.", 8000) == (path8, ms8) and voice.calls == 1
    path16, _ = spool.render("Hello there.", 16000)
    assert path16 != path8 and voice.calls == 2
    with wave.open(str(path8)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)


def test_prune_removes_only_renders_unused_for_too_long(tmp_path: Path) -> None:
    spool = SpeechSpool(ToneVoice(), tmp_path)
    old, _ = spool.render("Old news.", 8000)
    used, _ = spool.render("Still in use.", 8000)
    day_ago = time.time() - 86400
    os.utime(old, (day_ago, day_ago))
    os.utime(used, (day_ago, day_ago))
    spool.render("Still in use.", 8000)  # a cache hit refreshes it
    assert spool.prune(max_age_s=3600) == 1
    assert not old.exists() and used.exists()


class SlowVoice(ToneVoice):
    """Takes long enough that a second request arrives while the first is still rendering."""

    def synthesize(self, text: str) -> Audio:
        time.sleep(0.2)
        return super().synthesize(text)


def test_the_same_text_asked_twice_at_once_is_rendered_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - real threads, like the hub pool

    voice = SlowVoice()
    spool = SpeechSpool(voice, tmp_path)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: spool.render("Which day suits you?", 8000), range(2))
    assert first == second and voice.calls == 1
