"""The whole worker through the real WebSocket: caller audio in, validated result messages out."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.config import load_settings
from app.media import messages
from app.media.meter import StreamReports
from app.media.pipeline import SpeechWorker
from app.media.server import MediaServer
from app.media.speech_setup import profiles_from
from app.vad.batcher import VadBatcher
from app.vad.silero import shared_model
from tests.media.speech import english_clip, whisper, word_errors
from tests.media.wsclient import StreamClient

CALL_A = "11111111-2222-4333-8444-555555555555"
CALL_B = "66666666-7777-4888-8999-aaaaaaaaaaaa"
SAID = ("I would like to book a table for two.", "Yes, tomorrow evening please.")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[MediaServer, StreamReports]]:
    reports = StreamReports()
    settings = load_settings({})
    speech = SpeechWorker(
        VadBatcher(shared_model()), whisper(), profiles_from(settings).__getitem__, reports=reports
    )
    media = MediaServer("127.0.0.1", 0, speech)
    media.start()
    yield media, reports
    media.stop()
    speech.stop()


def test_clear_speech_becomes_utterances_with_the_right_words(
    server: tuple[MediaServer, StreamReports],
) -> None:
    media, reports = server
    clip = english_clip(SAID)
    with StreamClient(media.address, CALL_A) as client:
        client.send_text('{"call_type":"sip","rate":8000}')
        client.stream(clip.samples.tobytes(), 320)
        heard = [client.wait_for("utterance", timeout=60) for _ in SAID]
    for message in client.seen:
        messages.validate(message)
    for said, utterance in zip(SAID, heard, strict=True):
        assert word_errors(said, str(utterance["text"])) <= 1, utterance
        assert utterance["engine"] == "whisper" and utterance["reason"] == "silence"
    kinds = [m["type"] for m in client.seen]
    assert kinds.count("speech_started") == 2 and kinds.count("speech_stopped") == 2
    report = reports.get(CALL_A)
    assert report is not None and report.samples == len(clip.samples)


def test_a_broken_stream_ends_alone_while_another_call_goes_on(
    server: tuple[MediaServer, StreamReports],
) -> None:
    media, _ = server
    clip = english_clip(SAID[:1], rate=16000)
    frames = clip.samples.tobytes()
    with StreamClient(media.address, CALL_B) as good, StreamClient(media.address, CALL_A) as bad:
        good.send_text('{"call_type":"webrtc","rate":16000}')
        bad.send_text('{"call_type":"sip","rate":8000}')
        half = len(frames) // 2 // 640 * 640
        good.stream(frames[:half], 640)
        bad.send_audio(b"\x01\x02\x03")  # not whole 16-bit samples
        assert bad.closed.get(timeout=10) == 1003
        good.stream(frames[half:], 640)
        utterance = good.wait_for("utterance", timeout=60)
    assert word_errors(SAID[0], str(utterance["text"])) <= 1


def test_noise_alone_gives_nothing_then_speech_is_heard(server: tuple[MediaServer, StreamReports]) -> None:
    media, _ = server
    rng = np.random.default_rng(7)
    noise = np.clip(rng.standard_normal(8000 * 3) * 600, -32768, 32767).astype(np.int16)
    clip = english_clip(SAID[1:])
    with StreamClient(media.address, CALL_B) as client:
        client.send_text('{"call_type":"sip","rate":8000}')
        client.stream(np.concatenate([noise, clip.samples]).tobytes(), 320)
        utterance = client.wait_for("utterance", timeout=60)
    starts = [m for m in client.seen if m["type"] == "speech_started"]
    assert len(starts) == 1 and float(starts[0]["start_ms"]) > 3000  # type: ignore[arg-type]
    assert word_errors(SAID[1], str(utterance["text"])) <= 1
