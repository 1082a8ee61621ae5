"""Pure pieces of the mod_audio_stream stand-in: URL, handshake, packets, server messages."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from app.sim.audio_stream import switch_true
from app.sim.resample import StreamResampler
from app.sim.stream_messages import EVENT_JSON, EVENT_PLAY, handle_server_text
from app.sim.stream_packets import StreamPacketizer, frames_per_packet
from app.sim.ws_handshake import (
    WsTarget,
    build_upgrade_request,
    extra_headers_from_json,
    is_valid_ws_url,
    parse_upgrade_response,
    parse_ws_url,
)


def test_parse_ws_url() -> None:
    assert parse_ws_url("ws://127.0.0.1:8090/call/x?y=1") == WsTarget(False, "127.0.0.1", 8090, "/call/x?y=1")
    assert parse_ws_url("ws://worker-1.local") == WsTarget(False, "worker-1.local", 80, "/")
    assert parse_ws_url("wss://example.com/a") == WsTarget(True, "example.com", 443, "/a")
    for bad in ("notaurl", "http://h/", "ws://", "ws://h:80x/", "ws://user@h/", "ws://[::1]:80/", "ws://h?x"):
        assert not is_valid_ws_url(bad), bad


def test_upgrade_request_bytes_and_header_order() -> None:
    target = parse_ws_url("ws://h:1/p?q")
    extra = extra_headers_from_json('{"X-B":"2","X-A":"1","n":3}')
    assert list(extra) == ["X-A", "X-B"]
    request = build_upgrade_request(target, "KEY", offer_deflate=False, extra_headers=extra)
    assert request == (
        b"GET /p?q HTTP/1.1\r\nHost:h:1\r\nUpgrade:websocket\r\nConnection:upgrade\r\n"
        b"Sec-WebSocket-Key:KEY\r\nSec-WebSocket-Version:13\r\nOrigin:http://h:1\r\nX-A:1\r\nX-B:2\r\n\r\n"
    )
    assert extra_headers_from_json("[1]") == {} and extra_headers_from_json("{bad") == {}


def test_upgrade_response() -> None:
    ok = b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n"
    ext = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n"
    assert parse_upgrade_response(ok + ext, offered_deflate=True).deflate == (
        "permessage-deflate; client_max_window_bits=9"
    )
    assert parse_upgrade_response(ok + ext, offered_deflate=False).deflate is None
    assert not parse_upgrade_response(b"HTTP/1.1 404 Not Found\r\n\r\n", offered_deflate=True).accepted
    assert not parse_upgrade_response(b"HTTP/1.1 101 OK\r\n\r\n", offered_deflate=True).accepted


def test_channel_variable_parsing() -> None:
    assert [frames_per_packet(v) for v in (None, "20", "100", "30", "0", "abc", "-40", "60ms")] == [
        1,
        1,
        5,
        1,
        1,
        1,
        1,
        3,
    ]
    assert switch_true("true") and switch_true("1") and switch_true("on")
    assert not switch_true(None) and not switch_true("false") and not switch_true("0")


def test_packetizer_mono_stereo_mixed() -> None:
    read = np.full(160, 1000, np.int16)
    write = np.full(160, 32000, np.int16)
    mono = StreamPacketizer(mix="mono", channel_rate=8000, stream_rate=8000)
    assert mono.feed(read, None) == read.astype("<i2").tobytes()
    stereo = StreamPacketizer(mix="stereo", channel_rate=8000, stream_rate=8000)
    assert stereo.feed(read, None) is None
    packet = stereo.feed(read, write)
    assert packet is not None
    assert np.array_equal(np.frombuffer(packet, "<i2").reshape(-1, 2), np.stack([read, write], axis=1))
    mixed = StreamPacketizer(mix="mixed", channel_rate=8000, stream_rate=8000, frames_per_packet=2)
    assert mixed.feed(read, write) is None
    packet = mixed.feed(read, write)
    assert packet is not None and len(packet) == 640
    assert set(np.frombuffer(packet, "<i2")) == {32767}  # saturated sum
    with pytest.raises(ValueError):
        StreamPacketizer(mix="quad", channel_rate=8000, stream_rate=8000)


@pytest.mark.parametrize(("source", "target"), [(8000, 16000), (16000, 8000), (48000, 16000), (8000, 24000)])
def test_stream_resampler_keeps_frame_size_and_frequency(source: int, target: int) -> None:
    resampler = StreamResampler(source, target, 1)
    step = source // 50
    t = np.arange(step * 50) / source
    signal = (np.sin(2 * np.pi * 700 * t) * 10000).astype(np.int16)
    out = [resampler.process(signal[i : i + step]) for i in range(0, len(signal), step)]
    assert {len(chunk) for chunk in out} == {target // 50}
    joined = np.concatenate(out)[target // 10 :].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(joined))
    assert abs(np.argmax(spectrum) * target / len(joined) - 700) < 25


def test_downsampling_filters_out_aliases() -> None:
    resampler = StreamResampler(16000, 8000, 1)
    t = np.arange(320 * 50) / 16000
    above_nyquist = (np.sin(2 * np.pi * 6000 * t) * 10000).astype(np.int16)  # would alias to 2 kHz
    out = np.concatenate([resampler.process(above_nyquist[i : i + 320]) for i in range(0, len(t), 320)])
    assert np.sqrt(np.mean(out[800:].astype(np.float64) ** 2)) < 300


def test_server_text_handling(tmp_path: Path) -> None:
    audio = base64.b64encode(b"\x01\x00" * 8).decode()
    message = json.dumps(
        {"type": "streamAudio", "data": {"audioDataType": "raw", "sampleRate": 16000.0, "audioData": audio}}
    )
    result = handle_server_text(message, uuid="u", file_index=3, temp_dir=tmp_path)
    assert result.subclass == EVENT_PLAY
    assert result.body == f'{{"audioDataType":"raw","sampleRate":16000,"file":"{tmp_path}/u_3.tmp.r16"}}'
    assert (tmp_path / "u_3.tmp.r16").read_bytes() == b"\x01\x00" * 8
    wav = json.dumps({"type": "streamAudio", "data": {"audioDataType": "wav", "audioData": audio}})
    assert handle_server_text(wav, uuid="u", file_index=0, temp_dir=tmp_path).body.endswith('u_0.tmp.wav"}')
    for verbatim in (
        "not json",
        '{"type":"utterance","text":"hi"}',
        '{"type":"streamAudio"}',
        '{"type":"streamAudio","data":{"audioDataType":"raw","sampleRate":11025,"audioData":"AA=="}}',
        '{"type":"streamAudio","data":{"audioDataType":"flac","audioData":"AA=="}}',
        "[1,2]",
    ):
        result = handle_server_text(verbatim, uuid="u", file_index=0, temp_dir=tmp_path)
        assert (result.subclass, result.body, result.file) == (EVENT_JSON, verbatim, None)
