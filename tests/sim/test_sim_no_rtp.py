"""A caller who sends no RTP, on the stand-in, as tests/realswitch/test_no_rtp.py measured on FreeSWITCH 1.10.12.

A channel parked by ``socket ... async full`` runs queued messages between frames read from the caller: while no
packet arrives, a ``uuid_broadcast`` is accepted (``+OK Message sent``) but nothing executes, and the fork
(mod_audio_stream's media bug) is given no frames. When the packets come back, what was queued runs, in order.
"Meanwhile" is measured in the stand-in's media frames, not wall-clock sleeps.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.sim.audio_stream import AudioStreamFork
from app.sim.media import ChannelMedia
from app.sim.switch import FakeSwitch, SimCall
from app.sim.ws_recorder import RecordingWsServer
from tests.polling import until
from tests.sim.esl_client import Controller, EslClient

PASSWORD = "s3cret"
WAIT = 10.0
GAP_FRAMES = 40  # 0.8 s of media time without packets before looking


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD, recordings_dir=tmp_path) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Controller]:
    ctl = Controller()
    yield ctl
    ctl.stop()


@pytest.fixture
def server() -> Iterator[RecordingWsServer]:
    srv = RecordingWsServer().start()
    yield srv
    srv.stop()


def tone_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    samples = (np.sin(np.arange(int(seconds * rate)) * 0.3) * 6000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def answer_and_fork(
    client: EslClient, call: SimCall, server: RecordingWsServer
) -> tuple[ChannelMedia, AudioStreamFork]:
    """Connect, answer, start the fork and wait until it forwards caller audio."""
    uuid = client.command("connect").headers["Unique-ID"]
    client.command("myevents")
    client.command("event plain PLAYBACK_START PLAYBACK_STOP")
    client.command("linger")
    client.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="answer")
    assert client.api(f"uuid_audio_stream {uuid} start {server.url('/call')} mono 8k").startswith("+OK")
    media, fork = call.channel.media, call.channel.audio_fork
    assert isinstance(media, ChannelMedia) and isinstance(fork, AudioStreamFork)
    until(lambda: fork.packets_sent > 0, WAIT, "the fork forwarding caller audio")
    return media, fork


def broadcast(client: EslClient, uuid: str, path: Path) -> None:
    assert client.api(f"uuid_broadcast {uuid} {path} aleg") == "+OK Message sent\n"


def executed(client: EslClient, path: Path) -> bool:
    return any(
        m.event_name == "CHANNEL_EXECUTE" and m.event_header("Application-Data") == str(path)
        for m in client.messages
    )


def test_nothing_queued_plays_while_the_caller_sends_no_rtp(
    switch: FakeSwitch, controller: Controller, server: RecordingWsServer, tmp_path: Path
) -> None:
    hello, bye = tone_wav(tmp_path / "hello.wav", 0.2), tone_wav(tmp_path / "bye.wav", 0.2)
    call = switch.place_call(
        socket=f"{controller.address} async full",
        caller_audio=tone_wav(tmp_path / "caller.wav", 1.5),
        rtp_ends_with_audio=True,  # as SIPp's rtp_stream: no packets once the caller's WAV ends
    )
    client = controller.client()
    media, fork = answer_and_fork(client, call, server)
    broadcast(client, call.uuid, hello)
    client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(hello))
    until(lambda: not media.rtp_arriving, WAIT, "the caller's RTP to end with its WAV")

    sent = fork.packets_sent
    broadcast(client, call.uuid, bye)  # accepted...
    assert media.wait_frames(media.frames_elapsed + GAP_FRAMES, timeout=WAIT)
    assert not executed(client, bye)  # ...never run
    assert fork.packets_sent == sent
    call.hangup()
    assert call.wait_ended(WAIT)
    assert not executed(client, bye)
    assert [
        m.event_header("Playback-File-Path") for m in client.messages if m.event_name == "PLAYBACK_START"
    ] == [str(hello)]
    assert call.played_files == [str(hello)]
    assert call.hangup_cause == "NORMAL_CLEARING"


def test_what_was_queued_starts_when_the_packets_come_back(
    switch: FakeSwitch, controller: Controller, server: RecordingWsServer, tmp_path: Path
) -> None:
    first, second = tone_wav(tmp_path / "first.wav", 0.2), tone_wav(tmp_path / "second.wav", 0.2)
    call = switch.place_call(socket=f"{controller.address} async full")  # silence as RTP
    client = controller.client()
    media, fork = answer_and_fork(client, call, server)

    call.stop_rtp()
    assert media.wait_frames(media.frames_elapsed + 1, timeout=WAIT)
    sent = fork.packets_sent
    broadcast(client, call.uuid, first)
    broadcast(client, call.uuid, second)
    assert media.wait_frames(media.frames_elapsed + GAP_FRAMES, timeout=WAIT)
    assert not executed(client, first) and not executed(client, second)
    assert fork.packets_sent == sent

    call.resume_rtp()
    client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(second), timeout=WAIT)
    assert call.played_files == [str(first), str(second)]  # in the order they were queued
    until(lambda: fork.packets_sent > sent, WAIT, "the fork forwarding again")
    call.hangup()
    assert call.wait_ended(WAIT)
