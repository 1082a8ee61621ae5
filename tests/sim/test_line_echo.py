"""LineEcho: what is played to the caller comes back in the read direction, delayed and scaled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.sim.media import ChannelMedia, LineEcho
from app.sim.switch import Endpoint, FakeSwitch
from app.sim.wav import Int16Array, read_wav, write_wav

RATE = 8000
FRAME = 160


class Tap:
    """A media bug (what mod_audio_stream sees): every read and write frame."""

    def __init__(self) -> None:
        self.reads: list[Int16Array] = []
        self.writes: list[Int16Array | None] = []

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        self.reads.append(read.copy())
        self.writes.append(None if write is None else write.copy())

    def on_media_close(self) -> None:
        pass


def constant_wav(path: Path, value: int, count: int) -> Path:
    write_wav(path, np.full(count, value, np.int16), RATE)
    return path


def as_int16(column: np.ndarray) -> Int16Array:
    return np.round(column * 32768).astype(np.int16)


def test_echo_is_delayed_scaled_and_mixed_before_the_bugs_and_the_recording(tmp_path: Path) -> None:
    caller = constant_wav(tmp_path / "caller.wav", 100, 20 * FRAME)
    prompt = constant_wav(tmp_path / "prompt.wav", 1000, 5 * FRAME)
    recording = tmp_path / "rec.wav"
    media = ChannelMedia(
        uuid="e1",
        rate=RATE,
        caller_audio=caller,
        recording_path=recording,
        echo=LineEcho(gain_db=-20.0, delay_ms=30),
    )
    tap = Tap()
    media.add_bug(tap)
    media.advance_frame()
    media.advance_frame()
    media.play(prompt)
    for _ in range(18):
        media.advance_frame()
    media.stop()

    reads = np.concatenate(tap.reads)
    # played from sample 320 to 1120; its echo (1000 * 0.1) arrives 240 samples (30 ms) later
    expected = np.full(20 * FRAME, 100, np.int16)
    expected[320 + 240 : 1120 + 240] += 100
    assert np.array_equal(reads, expected)
    samples, _ = read_wav(recording)
    assert np.array_equal(as_int16(samples[:, 0]), expected)
    right = as_int16(samples[:, 1])
    assert not right[:320].any() and (right[320:1120] == 1000).all() and not right[1120:].any()


def test_echo_without_delay_lands_in_the_same_frame_and_saturates(tmp_path: Path) -> None:
    caller = constant_wav(tmp_path / "caller.wav", 30000, 4 * FRAME)
    prompt = constant_wav(tmp_path / "prompt.wav", 10000, 2 * FRAME)
    media = ChannelMedia(
        uuid="e2", rate=RATE, caller_audio=caller, recording_path=None, echo=LineEcho(gain_db=6.0, delay_ms=0)
    )
    tap = Tap()
    media.add_bug(tap)
    media.play(prompt)
    for _ in range(3):
        media.advance_frame()
    assert (tap.reads[0] == 32767).all() and (tap.reads[1] == 32767).all()
    assert (tap.reads[2] == 30000).all()


def test_echo_of_a_paused_playback_and_a_negative_caller(tmp_path: Path) -> None:
    caller = constant_wav(tmp_path / "caller.wav", -32000, 4 * FRAME)
    prompt = constant_wav(tmp_path / "prompt.wav", -2000, 4 * FRAME)
    media = ChannelMedia(
        uuid="e3", rate=RATE, caller_audio=caller, recording_path=None, echo=LineEcho(gain_db=0.0, delay_ms=0)
    )
    tap = Tap()
    media.add_bug(tap)
    playback = media.play(prompt)
    media.advance_frame()
    playback.toggle_pause()
    media.advance_frame()
    assert (tap.reads[0] == -32768).all()  # -32000 + -2000 saturates
    assert (tap.reads[1] == -32001).all()  # the paused frame's -1 comes back too


def test_no_echo_by_default(tmp_path: Path) -> None:
    caller = constant_wav(tmp_path / "caller.wav", 100, 2 * FRAME)
    media = ChannelMedia(uuid="e4", rate=RATE, caller_audio=caller, recording_path=None)
    tap = Tap()
    media.add_bug(tap)
    media.play(constant_wav(tmp_path / "prompt.wav", 1000, 2 * FRAME))
    media.advance_frame()
    assert (tap.reads[0] == 100).all()


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        ChannelMedia(uuid="e5", rate=RATE, caller_audio=None, recording_path=None, echo=LineEcho(0.0, -20))


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password="pw", recordings_dir=tmp_path, line_echo=LineEcho(-6.0, 40)) as fake:
        yield fake


def test_place_call_echo_reaches_the_recording(tmp_path: Path) -> None:
    prompt = constant_wav(tmp_path / "prompt.wav", 4000, 10 * FRAME)
    with FakeSwitch(password="pw", recordings_dir=tmp_path) as switch:
        switch.dialplan.add("default", r"^7000$", [("answer", ""), ("playback", str(prompt)), ("park", "")])
        call = switch.place_call(destination="7000", context="default", line_echo=LineEcho(0.0, 0))
        assert call.wait_answered(5)
        assert call.channel.line_echo == LineEcho(0.0, 0)
        media = call.channel.media
        assert media is not None
        assert media.wait_frames(media.frames_elapsed + 15, timeout=10)
        assert call.channel.played_files == [str(prompt)]
        call.hangup()
        assert call.wait_ended(5)
    assert call.recording_path is not None
    samples, _ = read_wav(call.recording_path)
    left, right = as_int16(samples[:, 0]), as_int16(samples[:, 1])
    assert (right == 4000).sum() == 10 * FRAME
    assert np.array_equal(left, right)  # a silent caller: the read direction is exactly the echo


def test_switch_default_echo_applies_to_phone_lines_only(switch: FakeSwitch) -> None:
    inbound = switch.place_call(destination="9998", context="default")
    own = switch.place_call(destination="9998", context="default", line_echo=LineEcho(-30.0, 10))
    switch.add_endpoint(r"sofia/gateway/twilio/", Endpoint(result="answer"))
    reply = switch.api.execute("originate", "sofia/gateway/twilio/+15551234567 &park()")
    assert reply.startswith("+OK ")
    outbound = switch.find_call(reply[4:].strip())
    reply = switch.api.execute("originate", "loopback/9998/default &park()")
    assert reply.startswith("+OK ")
    loopback = switch.find_call(reply[4:].strip())
    assert outbound is not None and loopback is not None
    assert inbound.channel.line_echo == LineEcho(-6.0, 40)
    assert own.channel.line_echo == LineEcho(-30.0, 10)
    assert outbound.channel.line_echo == LineEcho(-6.0, 40)
    assert loopback.channel.line_echo is None
    assert FakeSwitch(password="pw").line_echo is None
