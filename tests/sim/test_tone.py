"""The stand-in's beep detector (mod_avmd's job): steady 440-2000 Hz tones of 100 ms, nothing else."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from app.media.speechset import mulaw_decode, mulaw_encode
from app.sim.tone import Tone, ToneDetector
from app.tts.piper import PiperTTS

RATE = 8000


def tone(hz: float, ms: int, dbfs: float = -12.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(rate * ms // 1000) / rate
    return np.round(10 ** (dbfs / 20) * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def silence(ms: int, rate: int = RATE) -> np.ndarray:
    return np.zeros(rate * ms // 1000, np.int16)


def detect(samples: np.ndarray, rate: int = RATE) -> list[Tone]:
    detector = ToneDetector(rate)
    frame = rate // 50
    found = [detector.feed(samples[i : i + frame]) for i in range(0, len(samples) - frame + 1, frame)]
    return [t for t in found if t is not None]


@cache
def speech() -> np.ndarray:
    """A voicemail greeting as the line delivers it: Piper at 8 kHz through G.711 mu-law."""
    audio = PiperTTS().synthesize("Hi, it's Tom. I can't come to the phone, so leave a message.")
    samples = audio.resampled(RATE).samples
    padded = np.concatenate([samples, np.zeros(-len(samples) % 160, np.int16)])  # whole 20 ms frames
    return mulaw_decode(mulaw_encode(padded))


def test_a_beep_is_found_once_about_100_ms_after_it_starts() -> None:
    [beep] = detect(np.concatenate([silence(500), tone(1000, 400), silence(500)]))
    assert beep.frequency == pytest.approx(1000, abs=3)
    assert beep.start_sample == RATE // 2
    assert 100 <= 1000 * (beep.detected_sample - beep.start_sample) / RATE <= 120
    assert beep.amplitude == pytest.approx(10 ** (-12 / 20) * 32767, rel=0.1)


@pytest.mark.parametrize("hz", [300.0, 2600.0])
def test_tones_outside_440_to_2000_hz_are_not_beeps(hz: float) -> None:
    assert detect(np.concatenate([silence(200), tone(hz, 600)])) == []


def test_a_blip_shorter_than_100_ms_is_not_a_beep() -> None:
    assert detect(np.concatenate([silence(200), tone(1000, 60), silence(300)])) == []


def test_a_dtmf_digit_is_two_tones_not_a_beep() -> None:
    digit = (tone(697, 300, -15) + tone(1209, 300, -15)).astype(np.int16)
    assert detect(np.concatenate([silence(200), digit, silence(200)])) == []


def test_speech_has_no_beep_and_a_beep_after_it_is_found() -> None:
    greeting = speech()
    assert detect(greeting) == []
    [beep] = detect(np.concatenate([greeting, silence(500), tone(850, 500, -20)]))
    assert beep.frequency == pytest.approx(850, abs=3)
    assert beep.start_sample == len(greeting) + RATE // 2


def test_a_noisy_line_that_loses_frames_still_gives_one_beep() -> None:
    rng = np.random.default_rng(5)
    clean = np.concatenate([speech(), silence(500), tone(1000, 400, -18)]).astype(np.float64)
    # white noise 10 dB under the speech, 7 dB under the beep
    noisy = clean + rng.normal(0, 10 ** (-28 / 20) * 32767, len(clean))
    line = mulaw_decode(mulaw_encode(np.clip(noisy, -32768, 32767).astype(np.int16)))
    frames = line.reshape(-1, 160).copy()
    beep_start = (len(speech()) + RATE // 2) // 160
    frames[beep_start + 2] = 0  # a frame of the beep lost, the jitter buffer plays silence
    [beep] = detect(frames.reshape(-1))
    assert beep.frequency == pytest.approx(1000, abs=5)


def test_each_beep_is_reported_once_and_a_later_one_again() -> None:
    beeps = detect(np.concatenate([tone(1000, 400), silence(300), tone(1400, 400), silence(100)]))
    assert [round(b.frequency, -1) for b in beeps] == [1000, 1400]


def test_wideband_audio() -> None:
    [beep] = detect(np.concatenate([silence(300, 16000), tone(1000, 400, rate=16000)]), rate=16000)
    assert beep.frequency == pytest.approx(1000, abs=3) and beep.start_sample == 4800
