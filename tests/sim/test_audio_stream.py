"""AudioStreamFork against a real WebSocket server (the independent RecordingWsServer), port 0."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.sim.audio_stream import AudioStreamFork
from app.sim.media import ChannelMedia
from app.sim.wav import load_mono, write_wav
from app.sim.ws_recorder import OP_BINARY, OP_CLOSE, OP_TEXT, RecordedConnection, RecordingWsServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "freeswitch-1.10.12"
UUID = "aeb131fe-a9c9-4664-80ff-b222838645d0"
WAIT = 10.0


class Events:
    """Collects fired events; lets a test wait for one."""

    def __init__(self, server: RecordingWsServer) -> None:
        self.fired: list[tuple[str, str]] = []
        self._changes = server.changes

    def __call__(self, subclass: str, body: str) -> None:
        self.fired.append((subclass, body))
        self._changes.notify()

    def wait_for(self, subclass: str) -> str:
        assert self._changes.wait_until(lambda: any(s == subclass for s, _ in self.fired), WAIT), self.fired
        return next(body for s, body in self.fired if s == subclass)

    def subclasses(self) -> list[str]:
        return [s for s, _ in self.fired]


def fixture_upgrade_request(connection_index: int) -> bytes:
    """The upgrade request of one connection in mod-audio-stream-ws.txt, as real bytes."""
    text = (FIXTURES / "mod-audio-stream-ws.txt").read_text()
    section = text.split(f"=== WebSocket connection #{connection_index}:")[1]
    lines = section.split("exact bytes")[1].split("\n")[1:]
    request = b""
    for line in lines:
        assert line.endswith("\\r\\n"), line
        request += line[: -len("\\r\\n")].encode() + b"\r\n"
        if line == "\\r\\n":
            return request
    raise AssertionError("request end not found")


def normalise(request: bytes, port: int, key: str) -> bytes:
    request = request.replace(f"127.0.0.1:{port}".encode(), b"127.0.0.1:8090")
    return re.sub(rb"Sec-WebSocket-Key:[^\r]*", b"Sec-WebSocket-Key:" + key.encode(), request)


def fixture_key(request: bytes) -> str:
    match = re.search(rb"Sec-WebSocket-Key:([^\r]*)", request)
    assert match is not None
    return match.group(1).decode()


def sine(rate: int, seconds: float, frequency: float, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * frequency * t) * amplitude).astype(np.int16)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.fixture
def server() -> Iterator[RecordingWsServer]:
    srv = RecordingWsServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def caller_wav(tmp_path: Path) -> Path:
    path = tmp_path / "caller.wav"
    write_wav(path, sine(8000, 3.0, 700), 8000)
    return path


def make_fork(
    server: RecordingWsServer,
    media: ChannelMedia,
    events: Events,
    *,
    path: str = "/call",
    mix: str = "mono",
    rate: int = 8000,
    metadata: str | None = None,
    variables: dict[str, str] | None = None,
    tmp_path: Path | None = None,
) -> AudioStreamFork:
    return AudioStreamFork(
        uuid=media.uuid,
        url=server.url(path),
        mix=mix,
        rate=rate,
        metadata=metadata,
        media=media,
        fire_event=events,
        channel_variables=variables or {},
        temp_dir=tmp_path,
    )


def connect(server: RecordingWsServer, fork: AudioStreamFork, events: Events) -> RecordedConnection:
    fork.start()
    events.wait_for("mod_audio_stream::connect")
    return server.wait_connection()


def advance(media: ChannelMedia, frames: int) -> None:
    for _ in range(frames):
        media.advance_frame()


def wait_binary(server: RecordingWsServer, conn: RecordedConnection, count: int) -> None:
    assert server.changes.wait_until(lambda: len(conn.binary_frames) >= count, WAIT), len(conn.binary_frames)


def test_handshake_equals_fixture_and_frames_are_deflated(
    server: RecordingWsServer, caller_wav: Path
) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events, path=f"/a-mono8k?call={UUID}", metadata='{"phase":"A"}')
    conn = connect(server, fork, events)
    expected = fixture_upgrade_request(0)
    assert normalise(conn.request, server.port, fixture_key(expected)) == expected
    assert events.wait_for("mod_audio_stream::connect") == '{"status":"connected"}'

    advance(media, 25)
    wait_binary(server, conn, 25)
    first = conn.frames[0]
    assert (first.opcode, first.text, first.fin, first.masked, first.rsv) == (
        OP_TEXT,
        '{"phase":"A"}',
        True,
        True,
        4,
    )
    binary = conn.binary_frames
    assert len(binary) == 25
    assert all(f.fin and f.masked and f.rsv == 4 and len(f.payload) == 320 for f in binary)
    assert all(f.wire_length < 320 for f in binary)
    assert fork.client.deflate_negotiated


def test_no_deflate_extra_headers_and_server_close_4000(server: RecordingWsServer, caller_wav: Path) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    variables = {"STREAM_MESSAGE_DEFLATE": "true", "STREAM_EXTRA_HEADERS": '{"X-Test":"1"}'}
    fork = make_fork(server, media, events, path="/e-server-close", variables=variables)
    conn = connect(server, fork, events)
    expected = fixture_upgrade_request(4)
    assert normalise(conn.request, server.port, fixture_key(expected)) == expected

    advance(media, 10)
    wait_binary(server, conn, 10)
    assert all(f.rsv == 0 and len(f.payload) == 320 for f in conn.binary_frames)
    conn.send_close(4000, "server bye")
    body = events.wait_for("mod_audio_stream::disconnect")
    assert body == '{"status":"disconnected","message":{"code":4000,"reason":"server bye"}}'
    assert server.changes.wait_until(lambda: bool(conn.close_frames()), WAIT)
    echo = conn.close_frames()[0]
    assert (echo.close_code, echo.close_reason, echo.masked) == (4000, "server bye", True)
    # the stream stays attached but sends nothing; send_text and stop still succeed
    advance(media, 5)
    assert fork.send_text("after-close") is True
    assert fork.stop(None) is True
    assert fork.send_text("gone") is False
    assert len(conn.binary_frames) == 10
    assert events.subclasses() == ["mod_audio_stream::connect", "mod_audio_stream::disconnect"]


def test_mono_16k_resampled_sine_survives(caller_wav: Path) -> None:
    server = RecordingWsServer(accept_deflate=False).start()
    try:
        media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
        events = Events(server)
        fork = make_fork(server, media, events, rate=16000)
        conn = connect(server, fork, events)
        advance(media, 50)
        wait_binary(server, conn, 50)
        frames = conn.binary_frames
        assert len(frames) == 50
        assert all(len(f.payload) == 640 and f.rsv == 0 for f in frames)
        samples = np.frombuffer(b"".join(f.payload for f in frames[5:]), dtype="<i2")
        assert abs(peak_frequency(samples, 16000) - 700) < 25
        assert 4000 < np.sqrt(np.mean(samples.astype(np.float64) ** 2)) < 7000
    finally:
        server.stop()


@pytest.mark.parametrize(("mix", "frame_bytes"), [("stereo", 640), ("mixed", 320)])
def test_stereo_and_mixed_send_only_while_playing(
    server: RecordingWsServer, caller_wav: Path, tmp_path: Path, mix: str, frame_bytes: int
) -> None:
    prompt = tmp_path / "prompt.wav"
    write_wav(prompt, sine(16000, 0.3, 1000), 16000)
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events, mix=mix, metadata='{"phase":"C"}')
    conn = connect(server, fork, events)
    advance(media, 20)
    playback = media.play(prompt)
    advance(media, 15)
    assert playback.finished.is_set() and playback.status == "done"
    advance(media, 20)
    wait_binary(server, conn, 15)
    fork.stop('{"bye":1}')
    assert server.changes.wait_until(lambda: conn.closed, WAIT)
    frames = conn.binary_frames
    assert len(frames) == 15
    assert all(len(f.payload) == frame_bytes for f in frames)
    samples = np.frombuffer(b"".join(f.payload for f in frames), dtype="<i2")
    if mix == "stereo":
        left, right = samples[0::2], samples[1::2]
        assert abs(peak_frequency(left, 8000) - 700) < 30
        assert abs(peak_frequency(right, 8000) - 1000) < 30
    else:
        spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
        strongest = sorted(np.argsort(spectrum)[-2:] * 8000 / len(samples))
        assert abs(strongest[0] - 700) < 30 and abs(strongest[1] - 1000) < 30


def test_buffer_size_groups_frames(server: RecordingWsServer, caller_wav: Path) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events, variables={"STREAM_BUFFER_SIZE": "100"})
    conn = connect(server, fork, events)
    advance(media, 23)
    wait_binary(server, conn, 4)
    fork.stop(None)
    assert server.changes.wait_until(lambda: conn.closed, WAIT)
    assert [len(f.payload) for f in conn.binary_frames] == [1600] * 4


def test_pause_resume_send_text_stop(server: RecordingWsServer, caller_wav: Path) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events)
    conn = connect(server, fork, events)
    advance(media, 5)
    assert fork.pause() is True
    advance(media, 7)
    assert fork.send_text('{"a": 1}') is True
    assert fork.resume() is True
    advance(media, 5)
    assert fork.stop('{"bye":1}') is True
    assert server.changes.wait_until(lambda: conn.closed, WAIT)
    kinds = [(f.opcode, len(f.payload) if f.opcode == OP_BINARY else f.payload) for f in conn.frames]
    assert kinds == [(OP_BINARY, 320)] * 5 + [(OP_TEXT, b'{"a": 1}')] + [(OP_BINARY, 320)] * 5 + [
        (OP_TEXT, b'{"bye":1}'),
        (OP_CLOSE, b"\x03\xe8Normal closure"),
    ]
    # the caller audio continues across the pause: frames 12..16 follow frames 0..4 after a gap
    audio = np.frombuffer(b"".join(f.payload for f in conn.binary_frames), dtype="<i2")
    expected = np.concatenate(
        [media_caller_frames(caller_wav, 0, 5), media_caller_frames(caller_wav, 12, 17)]
    )
    assert np.array_equal(audio, expected)
    assert fork.stop(None) is False and fork.send_text("x") is False and fork.pause() is False
    assert "mod_audio_stream::disconnect" not in events.subclasses()


def media_caller_frames(caller_wav: Path, first: int, end: int) -> np.ndarray:
    return load_mono(caller_wav, 8000)[first * 160 : end * 160]


def test_server_text_frames_become_events(
    server: RecordingWsServer, caller_wav: Path, tmp_path: Path
) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events, tmp_path=tmp_path)
    conn = connect(server, fork, events)
    conn.send_text('{"type": "utterance", "text":"hello"}')
    assert events.wait_for("mod_audio_stream::json") == '{"type": "utterance", "text":"hello"}'
    conn.send_binary(b"\x01\x02" * 100)  # ignored by the module
    audio = sine(8000, 0.2, 440).astype("<i2").tobytes()
    stream_audio = {"audioDataType": "raw", "sampleRate": 8000, "audioData": base64.b64encode(audio).decode()}
    conn.send_text(json.dumps({"type": "streamAudio", "data": stream_audio}))
    body = events.wait_for("mod_audio_stream::play")
    played = tmp_path / f"{UUID}_0.tmp.r8"
    assert body == json.dumps(
        {"audioDataType": "raw", "sampleRate": 8000, "file": str(played)}, separators=(",", ":")
    )
    assert played.read_bytes() == audio
    assert events.subclasses() == [
        "mod_audio_stream::connect",
        "mod_audio_stream::json",
        "mod_audio_stream::play",
    ]
    fork.stop(None)
    assert not played.exists()


def test_refused_connection_fires_error_and_stream_is_gone(tmp_path: Path, caller_wav: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = RecordingWsServer()  # only for its change notifications; not listening
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = AudioStreamFork(
        uuid=UUID,
        url=f"ws://127.0.0.1:{port}/nobody-listens",
        mix="mono",
        rate=8000,
        metadata=None,
        media=media,
        fire_event=events,
        channel_variables={},
    )
    fork.start()
    body = events.wait_for("mod_audio_stream::error")
    assert body == '{"status":"error","message":{"code":6,"error":"Connection refused (system error 111)"}}'
    assert fork.send_text("hello") is False
    assert fork.stop(None) is False
    assert fork.pause() is False


def test_unanswered_upgrade_times_out(caller_wav: Path) -> None:
    server = RecordingWsServer(answer_upgrade=False).start()
    try:
        media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
        events = Events(server)
        fork = make_fork(server, media, events)
        fork.start()
        assert (
            events.wait_for("mod_audio_stream::error")
            == '{"status":"error","message":{"code":10,"error":"Timeout"}}'
        )
        assert fork.send_text("x") is False
    finally:
        server.stop()


def test_hangup_closes_1000_without_event(server: RecordingWsServer, caller_wav: Path) -> None:
    media = ChannelMedia(uuid=UUID, rate=8000, caller_audio=caller_wav, recording_path=None)
    events = Events(server)
    fork = make_fork(server, media, events)
    conn = connect(server, fork, events)
    advance(media, 3)
    media.stop()
    assert server.changes.wait_until(lambda: conn.closed, WAIT)
    close = conn.close_frames()[0]
    assert (close.close_code, close.close_reason) == (1000, "Normal closure")
    assert len(conn.binary_frames) == 3
    assert fork.send_text("x") is False
    assert events.subclasses() == ["mod_audio_stream::connect"]


def test_real_time_clock_streams_and_stuck_server_stalls_nothing(caller_wav: Path) -> None:
    healthy = RecordingWsServer().start()
    stuck = RecordingWsServer(accept_deflate=False, stop_reading=True).start()
    try:
        media_ok = ChannelMedia(uuid="ok", rate=8000, caller_audio=caller_wav, recording_path=None)
        media_stuck = ChannelMedia(uuid="stuck", rate=8000, caller_audio=caller_wav, recording_path=None)
        events_ok, events_stuck = Events(healthy), Events(stuck)
        fork_ok = make_fork(healthy, media_ok, events_ok)
        fork_stuck = make_fork(stuck, media_stuck, events_stuck)
        conn_ok = connect(healthy, fork_ok, events_ok)
        connect(stuck, fork_stuck, events_stuck)
        # fill the socket buffers of the stuck connection so its writer blocks
        filler = base64.b64encode(np.random.default_rng(1).bytes(6_000_000)).decode()
        fork_stuck.send_text(filler)
        fork_stuck.send_text(filler)
        media_ok.start()
        media_stuck.start()
        assert media_stuck.wait_frames(40, timeout=WAIT)
        wait_binary(healthy, conn_ok, 40)
        assert fork_stuck.client.queued > 0  # its frames wait behind the blocked write
        assert fork_stuck.stop(None) is True
        assert fork_stuck.client.finished.wait(WAIT)
        assert fork_ok.stop(None) is True
        assert healthy.changes.wait_until(lambda: conn_ok.closed, WAIT)
        media_ok.stop()
        media_stuck.stop()
        assert all(len(f.payload) == 320 for f in conn_ok.binary_frames)
    finally:
        healthy.stop()
        stuck.stop()
