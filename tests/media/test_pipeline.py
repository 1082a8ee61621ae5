"""The speech pipeline per call, without a socket: shared VAD batcher, segmenter, a scripted recognizer."""

from __future__ import annotations

import gevent
import gevent.event
import numpy as np
import pytest

from app.domain import CallId, CallType
from app.media import messages
from app.media.pipeline import SpeechWorker
from app.media.segmenter import SegmenterProfile
from app.media.wire import StreamMetadata
from app.stt.base import Transcript
from app.vad.batcher import VadBatcher
from app.vad.silero import SileroModel
from tests.media.speech import english_clip

CALL = CallId("9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1")
TEXTS = ("Hello, I would like to check my balance.", "Yes, that is right.")


class CountingStream:
    """A streaming recognizer that reports how much audio it was fed."""

    def __init__(self) -> None:
        self.samples = 0
        self.utterances = 0

    def accept(self, samples: np.ndarray) -> str | None:
        self.samples += len(samples)
        return f"{self.samples} samples"

    def finish(self) -> Transcript:
        self.utterances += 1
        text, self.samples = f"utterance {self.utterances} of {self.samples} samples", 0
        return Transcript(text, 0.5)


class ScriptedEngine:
    name = "scripted"

    def __init__(self, streaming: bool) -> None:
        self.streaming = streaming
        self.streams: list[CountingStream] = []
        self.transcribed: list[int] = []

    def transcribe(self, samples: np.ndarray, rate: int) -> Transcript:
        self.transcribed.append(len(samples))
        return Transcript(f"{len(samples)} samples at {rate}", 0.8)

    def stream(self, rate: int) -> CountingStream:
        self.streams.append(CountingStream())
        return self.streams[-1]


class Collector:
    def __init__(self, expect_utterances: int) -> None:
        self.messages: list[dict[str, object]] = []
        self.expect = expect_utterances
        self.done = gevent.event.Event()

    def __call__(self, message: dict[str, object]) -> None:
        messages.validate(message)
        self.messages.append(message)
        if sum(m["type"] == "utterance" for m in self.messages) >= self.expect:
            self.done.set()

    def of(self, kind: str) -> list[dict[str, object]]:
        return [m for m in self.messages if m["type"] == kind]


def worker(silero: SileroModel, engine: ScriptedEngine) -> SpeechWorker:
    profiles = {CallType.SIP: SegmenterProfile(), CallType.WEBRTC: SegmenterProfile(0.5, 300)}
    return SpeechWorker(VadBatcher(silero, max_batch=4), engine, profiles.__getitem__, stt_threads=1)


def feed(listener: object, samples: np.ndarray, frame: int) -> None:
    for start in range(0, len(samples), frame):
        listener.on_audio(samples[start : start + frame])  # type: ignore[attr-defined]
        gevent.idle()


@pytest.mark.parametrize("streaming", [True, False])
def test_each_utterance_gives_started_stopped_and_text(silero: SileroModel, streaming: bool) -> None:
    engine = ScriptedEngine(streaming)
    speech = worker(silero, engine)
    clip = english_clip(TEXTS)
    sent = Collector(expect_utterances=2)
    listener = speech(StreamMetadata(CALL, CallType.SIP, 8000), sent)
    feed(listener, clip.samples, 160)
    assert sent.done.wait(30)
    listener.on_end("test over")
    kinds = [m["type"] for m in sent.messages if m["type"] not in ("partial", "hypothesis")]
    # Each utterance's text may come before or after the next speech starts (STT runs apart).
    assert [k for k in kinds if k != "utterance"] == ["speech_started", "speech_stopped"] * 2
    assert kinds.index("utterance") > kinds.index("speech_stopped") and kinds[-1] == "utterance"
    for said, utterance in zip(clip.spoken, sent.of("utterance"), strict=True):
        assert abs(float(utterance["start_ms"]) - said.start / 8) < 250  # type: ignore[arg-type]
        assert abs(float(utterance["end_ms"]) - said.end / 8) < 250  # type: ignore[arg-type]
    if streaming:
        assert sent.of("partial") and not engine.transcribed
        assert sent.of("utterance")[0]["text"].startswith("utterance 1 of ")  # type: ignore[union-attr]
    else:
        assert not sent.of("partial") and len(engine.transcribed) >= 2
    speech.stop()


def test_wideband_webrtc_call_at_a_rate_the_model_lacks_is_resampled(silero: SileroModel) -> None:
    engine = ScriptedEngine(streaming=False)
    speech = worker(silero, engine)
    clip = english_clip(TEXTS[:1], rate=16000)
    doubled = np.repeat(clip.samples, 3)  # 48 kHz (a crude but exact-length upsample)
    sent = Collector(expect_utterances=1)
    listener = speech(StreamMetadata(CALL, CallType.WEBRTC, 48000), sent)
    feed(listener, doubled, 960)
    assert sent.done.wait(30)
    assert sent.of("utterance")[0]["text"].endswith("at 16000")  # type: ignore[union-attr]
    listener.on_end("test over")
    speech.stop()


def test_playback_control_switches_the_echo_guard(silero: SileroModel) -> None:
    speech = worker(silero, ScriptedEngine(streaming=False))
    listener = speech(StreamMetadata(CALL, CallType.SIP, 8000), Collector(1))
    listener.on_control({"type": "playback", "on": True})
    assert listener.segmenter.playback and listener.segmenter.start_threshold >= 0.85
    listener.on_control({"type": "playback", "on": False})
    assert not listener.segmenter.playback
    listener.on_end("test over")
    speech.stop()


def test_silence_and_noise_give_no_messages(silero: SileroModel) -> None:
    engine = ScriptedEngine(streaming=False)
    speech = worker(silero, engine)
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(8000 * 4) * 300).astype(np.int16)
    clip = english_clip(TEXTS[1:])
    sent = Collector(expect_utterances=1)
    listener = speech(StreamMetadata(CALL, CallType.SIP, 8000), sent)
    feed(listener, np.zeros(8000 * 2, dtype=np.int16), 160)
    feed(listener, noise, 160)
    feed(listener, clip.samples, 160)  # then real speech, so we know the noise was fully processed
    assert sent.done.wait(30)
    (started,) = sent.of("speech_started")
    assert float(started["start_ms"]) > 6000 - 300  # type: ignore[arg-type]
    speech.stop()


def test_a_pause_gives_an_early_hypothesis_then_the_same_text_as_final(silero: SileroModel) -> None:
    engine = ScriptedEngine(streaming=False)
    speech = worker(silero, engine)
    clip = english_clip(TEXTS[:1])
    end = clip.spoken[0].end
    sent = Collector(expect_utterances=1)
    listener = speech(StreamMetadata(CALL, CallType.SIP, 8000), sent)
    feed(listener, clip.samples[: end + 8000 * 3 // 10], 160)  # the speech and 300 ms of its silence
    for _ in range(100):
        if sent.of("hypothesis"):
            break
        gevent.sleep(0.05)
    kinds = [m["type"] for m in sent.messages]
    assert kinds[0] == "speech_started" and set(kinds[1:]) == {"hypothesis"}  # one per pause so far
    feed(listener, np.zeros(8000, np.int16), 160)
    assert sent.done.wait(30)
    hypothesis, [final] = sent.of("hypothesis")[-1], sent.of("utterance")
    assert final["speculative"] is True and final["text"] == hypothesis["text"]
    assert hypothesis["start_ms"] == final["start_ms"] and hypothesis["end_ms"] == final["end_ms"]
    listener.on_end("test over")
    speech.stop()
