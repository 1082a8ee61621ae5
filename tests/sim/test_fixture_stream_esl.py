"""Replay mod-audio-stream-ws.esl.txt: every uuid_audio_stream reply and mod_audio_stream event."""

from __future__ import annotations

import base64
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gevent import socket

from app.sim.switch import FakeSwitch, SimCall
from app.sim.ws_recorder import RecordedConnection, RecordedFrame, RecordingWsServer
from tests.sim.replay import FIXTURE_WAV, Replay, compare_with_fixture, count_through, header_differences
from tests.sim.transcript import FIXTURES, read_transcript

FIXTURE_UUID = b"aeb131fe-a9c9-4664-80ff-b222838645d0"


def stream_audio_message() -> str:
    tone = (np.sin(np.arange(1600) * 0.5) * 6000).astype("<i2").tobytes()
    data = {"audioDataType": "raw", "sampleRate": 8000, "audioData": base64.b64encode(tone).decode()}
    return json.dumps({"type": "streamAudio", "data": data})


@pytest.fixture
def deflate_server() -> Iterator[RecordingWsServer]:
    replied: set[int] = set()

    def on_frame(connection: RecordedConnection, _frame: RecordedFrame) -> None:
        frames = len(connection.binary_frames)
        if id(connection) in replied:
            return
        if b"/a-mono8k" in connection.request and frames >= 25:
            replied.add(id(connection))
            connection.send_text(stream_audio_message())
        elif b"/e-server-close" in connection.request and frames >= 10:
            replied.add(id(connection))
            connection.send_close(4000, "server bye")

    server = RecordingWsServer(on_frame=on_frame).start()
    yield server
    server.stop()


@pytest.fixture
def plain_server() -> Iterator[RecordingWsServer]:
    server = RecordingWsServer(accept_deflate=False).start()
    yield server
    server.stop()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def test_mod_audio_stream_esl_side_is_reproduced(
    tmp_path: Path, deflate_server: RecordingWsServer, plain_server: RecordingWsServer
) -> None:
    prompt = tmp_path / "prompt_2s.wav"
    with wave.open(str(prompt), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes((np.sin(np.arange(16000) * 0.2) * 5000).astype("<i2").tobytes())
    blocks = read_transcript(FIXTURES / "mod-audio-stream-ws.esl.txt")
    refused = closed_port()
    with FakeSwitch(password="ClueCon") as switch:
        holder: dict[str, SimCall] = {}

        def substitute(data: bytes) -> bytes:
            if "call" in holder:
                data = data.replace(FIXTURE_UUID, holder["call"].uuid.encode())
            data = data.replace(FIXTURE_WAV, str(prompt).encode())
            data = data.replace(b"ws://127.0.0.1:8090", f"ws://127.0.0.1:{deflate_server.port}".encode())
            data = data.replace(b"ws://127.0.0.1:8092", f"ws://127.0.0.1:{plain_server.port}".encode())
            return data.replace(b"ws://127.0.0.1:8099", f"ws://127.0.0.1:{refused}".encode())

        def place_call() -> None:
            holder["call"] = switch.place_call(destination="9998", context="default")

        call_at = count_through(blocks, b"event plain CHANNEL_ANSWER", b"command/reply")
        replay = Replay(blocks, substitute, {call_at: place_call})
        with socket.create_connection(("127.0.0.1", switch.esl_port), timeout=10) as sock:
            replay.run(sock)
    compare_with_fixture(blocks, replay.received)
    assert header_differences(blocks, replay.received) == {}
    phase_a = deflate_server.wait_connection(index=0)
    texts = [frame.text for frame in phase_a.data_frames if frame.opcode == 1]
    assert texts == ['{"phase":"A"}', '{"a":', '{"a": 1}', '{"bye":1}']
