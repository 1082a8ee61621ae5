"""Replay the outbound-socket fixtures: the stand-in connects to this test, which plays the app."""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import gevent.event
import numpy as np
import pytest
from gevent import socket
from gevent.server import StreamServer

from app.sim.switch import FakeSwitch, SimCall
from app.sim.ws_recorder import RecordedConnection, RecordedFrame, RecordingWsServer
from tests.sim.replay import FIXTURE_WAV, Replay, compare_with_fixture, count_through, header_differences
from tests.sim.transcript import FIXTURES, Block, parse_message, read_transcript

FIXTURE_WS = b"ws://127.0.0.1:8090"
UTTERANCE = '{"type":"utterance","text":"hello"}'
WAIT = 30.0


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password="ClueCon") as fake:
        yield fake


@pytest.fixture
def prompt_wav(tmp_path: Path) -> Path:
    """2.000 s of 8 kHz mono speech-like audio, like the fixture's prompt_2s.wav."""
    path = tmp_path / "prompt_2s.wav"
    samples = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 8000) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    return path


@pytest.fixture
def ws_server() -> Iterator[RecordingWsServer]:
    answered: set[int] = set()

    def on_frame(connection: RecordedConnection, _frame: RecordedFrame) -> None:
        wanted = 50 if b"/call/" in connection.request else 5
        if b"/hangup/" in connection.request or id(connection) in answered:
            return
        if len(connection.binary_frames) >= wanted:
            answered.add(id(connection))
            connection.send_text(UTTERANCE)

    server = RecordingWsServer(on_frame=on_frame).start()
    yield server
    server.stop()


def fixture_uuid(blocks: list[Block]) -> bytes:
    connect_reply = parse_message(blocks[1].data)
    return connect_reply.headers["Unique-ID"].encode()


def replay_outbound(
    switch: FakeSwitch,
    name: str,
    *,
    prompt: Path,
    ws: RecordingWsServer,
    socket_arg: str = "async full",
    actions: Callable[[SimCall], dict[int, Callable[[], None]]] = lambda call: {},
) -> tuple[list[Block], Replay, SimCall]:
    blocks = read_transcript(FIXTURES / f"{name}.txt")
    old_uuid = fixture_uuid(blocks)
    done = gevent.event.Event()
    holder: dict[str, SimCall] = {}

    def substitute(data: bytes) -> bytes:
        call = holder["call"]
        data = data.replace(old_uuid, call.uuid.encode()).replace(FIXTURE_WAV, str(prompt).encode())
        return data.replace(FIXTURE_WS, f"ws://127.0.0.1:{ws.port}".encode())

    replay = Replay(blocks, substitute)

    def handle(sock: socket.socket, _address: object) -> None:
        try:
            replay.run(sock)
        finally:
            done.set()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        call = switch.place_call(destination="9999", socket=f"127.0.0.1:{server.server_port} {socket_arg}")
        holder["call"] = call
        replay.actions = actions(call)
        assert done.wait(WAIT), "the replay did not finish"
    finally:
        server.stop()
    return blocks, replay, call


def assert_like_fixture(blocks: list[Block], replay: Replay) -> None:
    compare_with_fixture(blocks, replay.received)
    differences = header_differences(blocks, replay.received)
    assert differences == {}, differences


def test_socket_call_with_audio_stream_broadcast_and_break(
    switch: FakeSwitch, prompt_wav: Path, ws_server: RecordingWsServer
) -> None:
    blocks = read_transcript(FIXTURES / "outbound-socket-call.txt")
    bye_at = count_through(blocks, b"uuid_getvar", b"api/response")
    blocks, replay, call = replay_outbound(
        switch,
        "outbound-socket-call",
        prompt=prompt_wav,
        ws=ws_server,
        actions=lambda call: {bye_at: call.hangup},
    )
    assert_like_fixture(blocks, replay)
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert call.played_files == [str(prompt_wav), str(prompt_wav)]
    getvar = [m for m in replay.received if m.content_type == "api/response"][-1]
    assert getvar.body == b"2000"


def test_socket_app_hangup_plain(switch: FakeSwitch, prompt_wav: Path, ws_server: RecordingWsServer) -> None:
    blocks, replay, call = replay_outbound(
        switch, "outbound-socket-app-hangup", prompt=prompt_wav, ws=ws_server
    )
    assert_like_fixture(blocks, replay)
    assert call.wait_ended(5)


def test_socket_app_hangup_json_linger_2(
    switch: FakeSwitch, prompt_wav: Path, ws_server: RecordingWsServer
) -> None:
    blocks, replay, _call = replay_outbound(
        switch, "outbound-socket-app-hangup-json", prompt=prompt_wav, ws=ws_server
    )
    assert_like_fixture(blocks, replay)


def test_socket_without_full(switch: FakeSwitch, prompt_wav: Path, ws_server: RecordingWsServer) -> None:
    blocks = read_transcript(FIXTURES / "outbound-socket-no-full.txt")
    bye_at = count_through(blocks, b"execute-app-name: playback", b"CHANNEL_EXECUTE_COMPLETE")
    blocks, replay, _call = replay_outbound(
        switch,
        "outbound-socket-no-full",
        prompt=prompt_wav,
        ws=ws_server,
        socket_arg="async",
        actions=lambda call: {bye_at: call.hangup},
    )
    assert_like_fixture(blocks, replay)


def test_socket_dtmf(switch: FakeSwitch, prompt_wav: Path, ws_server: RecordingWsServer) -> None:
    blocks = read_transcript(FIXTURES / "outbound-socket-dtmf.txt")
    keys_at = count_through(blocks, b"execute-app-name: answer", b"CHANNEL_EXECUTE_COMPLETE")

    def press_keys_then_bye(call: SimCall) -> Callable[[], None]:
        def act() -> None:
            call.send_dtmf("15#")
            call.hangup()

        return act

    blocks, replay, call = replay_outbound(
        switch,
        "outbound-socket-dtmf",
        prompt=prompt_wav,
        ws=ws_server,
        actions=lambda call: {keys_at: press_keys_then_bye(call)},
    )
    assert_like_fixture(blocks, replay)
    assert call.variables["digits_dialed"] == "15#"
