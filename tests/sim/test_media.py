"""ChannelMedia: caller audio, playback, media bugs, the time-aligned recording, the real-time clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.sim.media import ChannelMedia
from app.sim.wav import Int16Array, load_mono, read_wav, write_wav

WAIT = 10.0


def tone(rate: int, seconds: float, frequency: float, amplitude: int = 8000) -> Int16Array:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * frequency * t) * amplitude).astype(np.int16)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(samples))


class RecordingBug:
    def __init__(self) -> None:
        self.frames: list[tuple[Int16Array, Int16Array | None]] = []
        self.closed = False

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        self.frames.append((read.copy(), None if write is None else write.copy()))

    def on_media_close(self) -> None:
        self.closed = True


@pytest.fixture
def caller_wav(tmp_path: Path) -> Path:
    path = tmp_path / "caller.wav"
    write_wav(path, tone(16000, 1.0, 440), 16000)
    return path


@pytest.fixture
def prompt_wav(tmp_path: Path) -> Path:
    """A 0.25 s 1 kHz prompt at 44.1 kHz stereo: resampled and mixed down on play."""
    path = tmp_path / "prompt.wav"
    mono = tone(44100, 0.25, 1000)
    write_wav(path, np.stack([mono, mono], axis=1), 44100)
    return path


def test_recording_is_time_aligned(tmp_path: Path, caller_wav: Path, prompt_wav: Path) -> None:
    recording = tmp_path / "rec.wav"
    media = ChannelMedia(uuid="u1", rate=8000, caller_audio=caller_wav, recording_path=recording)
    bug = RecordingBug()
    media.add_bug(bug)
    for _ in range(10):
        media.advance_frame()
    playback = media.play(prompt_wav)
    assert not playback.started.is_set()
    while not playback.finished.is_set():
        media.advance_frame()
    for _ in range(60):
        media.advance_frame()
    media.stop()

    assert playback.status == "done" and playback.played_ms == 250 and playback.start_sample == 1600
    assert bug.closed
    samples, rate = read_wav(recording)
    assert rate == 8000 and samples.shape == (media.samples_elapsed, 2)
    left, right = samples[:, 0], samples[:, 1]
    caller = load_mono(caller_wav, 8000)
    assert np.allclose(left[: len(caller)], caller / 32768.0, atol=1 / 32768)
    assert not right[:1600].any() and not right[1600 + 2000 :].any()
    assert abs(peak_frequency(right[1600:3600], 8000) - 1000) < 10
    assert abs(peak_frequency(left[:8000], 8000) - 440) < 10
    # the bug saw the same write frames, None while nothing played
    writes = [w for _, w in bug.frames]
    assert writes[:10] == [None] * 10 and all(w is not None for w in writes[10:23]) and writes[23] is None
    played = np.concatenate([w for w in writes[10:23] if w is not None])
    assert np.array_equal(played[:2000], (right[1600:3600] * 32768).astype(np.int16))


def test_caller_audio_then_silence(caller_wav: Path) -> None:
    media = ChannelMedia(uuid="u2", rate=8000, caller_audio=caller_wav, recording_path=None)
    bug = RecordingBug()
    media.add_bug(bug)
    for _ in range(60):
        media.advance_frame()
    reads = np.concatenate([r for r, _ in bug.frames])
    assert np.array_equal(reads[:8000], load_mono(caller_wav, 8000))
    assert not reads[8000:].any() and len(reads) == 60 * 160


def test_break_stops_playback_and_a_second_play_is_refused_while_playing(
    caller_wav: Path, prompt_wav: Path
) -> None:
    media = ChannelMedia(uuid="u3", rate=16000, caller_audio=caller_wav, recording_path=None)
    playback = media.play(prompt_wav)
    with pytest.raises(RuntimeError):
        media.play(prompt_wav)
    for _ in range(5):
        media.advance_frame()
    playback.stop()
    assert playback.status == "break" and playback.played_ms == 100 and playback.finished.is_set()
    assert media.current_playback is None
    again = media.play(prompt_wav)
    media.advance_frame()
    assert again.started.is_set() and again.start_sample == 5 * 320


def test_real_time_playback_and_hangup(tmp_path: Path, caller_wav: Path, prompt_wav: Path) -> None:
    recording = tmp_path / "rt.wav"
    media = ChannelMedia(uuid="u4", rate=8000, caller_audio=caller_wav, recording_path=recording)
    media.start()
    assert media.wait_frames(5, timeout=WAIT)
    playback = media.play(prompt_wav)
    assert playback.started.wait(WAIT) and playback.finished.wait(WAIT)
    assert playback.status == "done" and playback.played_samples == 2000
    second = media.play(prompt_wav)
    assert second.started.wait(WAIT)
    media.stop()
    assert second.status == "break" and media.stopped
    frames_at_stop = media.frames_elapsed
    assert not media.wait_frames(frames_at_stop + 1, timeout=WAIT)  # stopped: returns at once
    samples, _ = read_wav(recording)
    assert samples.shape[0] == frames_at_stop * 160
    assert playback.start_sample is not None
    start = playback.start_sample
    assert abs(peak_frequency(samples[start : start + 2000, 1], 8000) - 1000) < 10


def test_rate_must_split_into_20ms_frames() -> None:
    with pytest.raises(ValueError):
        ChannelMedia(uuid="u5", rate=8010, caller_audio=None, recording_path=None)


def test_hangup_before_the_first_frame_writes_an_empty_stereo_recording(tmp_path: Path) -> None:
    recording = tmp_path / "empty.wav"
    media = ChannelMedia(uuid="u6", rate=8000, caller_audio=None, recording_path=recording)
    media.stop()
    samples, rate = read_wav(recording)
    assert samples.shape == (0, 2) and rate == 8000
