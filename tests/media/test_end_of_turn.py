"""The end-of-turn policy: word rules, the decision, the segmenter's pause limit and the per-call driver."""

from __future__ import annotations

import gevent
import gevent.event
import numpy as np
import pytest

from app.media.end_of_turn import EndOfTurn, turn_summary
from app.media.segmenter import Segmenter, SegmenterEvent, SegmenterProfile, SpeechPaused, UtteranceEnded
from app.media.turn_end import PendingPause, TurnEndConfig, decide
from app.media.turn_text import unfinished_reason

RATE = 8000
WINDOW = 256  # 32 ms at 8 kHz
WINDOW_MS = 32.0
SIP = SegmenterProfile(threshold=0.6, silence_ms=500)
CONFIG = TurnEndConfig(finished_ms=800, doubtful_ms=1000, unfinished_ms=1600)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I was calling about.", "preposition"),
        ("I need to cancel my order because", "conjunction"),
        ("Yes, but.", "conjunction"),
        ("Can you move it to the", "article"),
        ("Um.", "filler"),
        ("Let me check,", "trailing_off"),
        ("Well...", "trailing_off"),
        ("My number is 456.", "number"),
        ("My number is four five six seven", "number"),
        ("The code is 7.", "number"),
        ("I think it's", "hanging"),
    ],
)
def test_unfinished_words_are_recognised_whatever_the_punctuation(text: str, reason: str) -> None:
    assert unfinished_reason(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "Yes.",
        "No",
        "So, okay.",
        "I'd like a table for two.",
        "We moved in in 1999.",
        "Hi, who is this?",
        "Could you tell me where the nearest branch is?",
        "I will call you back as soon as I can.",
        "My number is 456 789 0123.",
        "",
    ],
)
def test_finished_turns_pass_the_word_rules(text: str) -> None:
    assert unfinished_reason(text) is None


def test_the_decision_lengthens_the_wait_for_unfinished_words_and_model_doubts() -> None:
    assert decide(CONFIG, "I'd like to book a table.", 0.9).silence_ms == 800
    assert decide(CONFIG, "I'd like to book a table.", 0.3).silence_ms == 1000
    unfinished = decide(CONFIG, "I'd like to book a table for", 0.99)
    assert (unfinished.silence_ms, unfinished.reason) == (1600, "words:preposition")
    assert decide(CONFIG, None, None).reason == "no_signal"
    assert decide(CONFIG, None, None).silence_ms == 800
    assert decide(CONFIG, None, 0.1).silence_ms == 1000  # the model alone can only lengthen the wait


def test_the_config_refuses_silences_that_do_not_grow() -> None:
    with pytest.raises(ValueError, match="must grow"):
        TurnEndConfig(finished_ms=900, doubtful_ms=800, unfinished_ms=1600)
    with pytest.raises(ValueError, match="probability"):
        TurnEndConfig(finished_above=1.5)


def test_a_pending_pause_is_ready_once_every_awaited_signal_is_in() -> None:
    pending = PendingPause(1000.0, wants_text=True, wants_model=True)
    pending.probability(0.9)
    assert not pending.ready
    pending.text("I called and")
    assert pending.ready
    assert pending.decide(CONFIG).reason == "words:conjunction"
    assert pending.decided


def _push(segmenter: Segmenter, probability: float, windows: int) -> list[SegmenterEvent]:
    events: list[SegmenterEvent] = []
    for _ in range(windows):
        level = 3000 if probability > 0.5 else 10
        events.extend(segmenter.push(np.full(WINDOW, level, np.int16), probability))
    return events


def test_the_pause_limit_holds_the_utterance_open_and_ends_it_when_reached() -> None:
    seg = Segmenter(SIP, RATE)
    _push(seg, 0.01, 10)
    _push(seg, 0.95, 20)
    events = _push(seg, 0.01, 4)  # 128 ms of silence: the pause hint, no end
    assert [type(e) for e in events] == [SpeechPaused]
    assert seg.pause_end_ms == 30 * WINDOW_MS
    assert seg.set_pause_limit(1600) == []
    assert not [e for e in _push(seg, 0.01, 30) if isinstance(e, UtteranceEnded)]  # 1088 ms: still open
    (ended,) = seg.set_pause_limit(800)  # the decision comes late: that much silence has passed, end now
    assert isinstance(ended, UtteranceEnded) and ended.end_ms == 30 * WINDOW_MS
    assert seg.pause_end_ms is None


def test_speech_resuming_forgets_the_pause_limit() -> None:
    seg = Segmenter(SIP, RATE)
    _push(seg, 0.95, 20)
    _push(seg, 0.01, 5)
    seg.set_pause_limit(1600)
    _push(seg, 0.95, 10)  # the caller goes on: the next pause ends at the profile's 500 ms again
    (ended,) = [e for e in _push(seg, 0.01, 20) if isinstance(e, UtteranceEnded)]
    assert ended.decided_ms - ended.end_ms == pytest.approx(512, abs=WINDOW_MS)
    assert seg.set_pause_limit(100) == []  # no pause in progress: nothing to limit


class _Model:
    """An end-of-turn model whose answer the test releases (the real one is tests/turn's)."""

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.release = gevent.event.Event()
        self.heard: list[int] = []

    def predict(self, audio: np.ndarray, rate: int) -> float:
        self.heard.append(len(audio))
        self.release.wait()
        return self.probability


def _paused_call(model: _Model | None) -> tuple[Segmenter, EndOfTurn, list[SegmenterEvent], SpeechPaused]:
    seg = Segmenter(SIP, RATE)
    ended: list[SegmenterEvent] = []
    policy = EndOfTurn(seg, CONFIG, model, ended.extend, "call")
    _push(seg, 0.95, 20)
    (paused,) = [e for e in _push(seg, 0.01, 4) if isinstance(e, SpeechPaused)]
    policy.paused(paused)
    return seg, policy, ended, paused


def test_the_driver_waits_for_both_signals_then_sets_the_pause_limit() -> None:
    model = _Model(0.2)
    seg, policy, ended, paused = _paused_call(model)
    assert seg.end_silence_ms == 1600  # held while the signals are on their way
    policy.transcript(paused.end_ms, "I'd like a table for two.")
    gevent.sleep(0)
    assert seg.end_silence_ms == 1600  # the model has not answered yet
    model.release.set()
    gevent.sleep(0.01)
    assert model.heard == [len(paused.audio)]
    assert seg.end_silence_ms == 1000  # words finished, model unsure
    decision = policy.decision_for(paused.end_ms)
    assert decision is not None and decision.reason == "model_unsure"
    assert turn_summary(decision) == {"silence_ms": 1000, "why": "model_unsure", "probability": 0.2}
    assert ended == []
    ended.extend(_push(seg, 0.01, 30))
    assert [e for e in ended if isinstance(e, UtteranceEnded)]


def test_a_late_decision_ends_a_pause_that_is_already_long_enough() -> None:
    seg, policy, ended, paused = _paused_call(None)
    _push(seg, 0.01, 30)  # about 1.1 s of silence while the decode runs
    policy.transcript(paused.end_ms, "Thanks, that's all.")
    (end,) = ended
    assert isinstance(end, UtteranceEnded) and end.end_ms == paused.end_ms


def test_a_stale_transcript_changes_nothing_once_the_caller_spoke_again() -> None:
    seg, policy, ended, paused = _paused_call(None)
    _push(seg, 0.95, 5)
    policy.transcript(paused.end_ms, "Thanks.")
    assert ended == [] and policy.decision_for(paused.end_ms) is None
    assert seg.end_silence_ms == 500


def test_a_failed_model_leaves_the_decision_to_the_words() -> None:
    class Broken:
        def predict(self, audio: np.ndarray, rate: int) -> float:
            raise RuntimeError("onnxruntime failed")

    seg = Segmenter(SIP, RATE)
    policy = EndOfTurn(seg, CONFIG, Broken(), lambda events: None, "call")
    _push(seg, 0.95, 20)
    (paused,) = [e for e in _push(seg, 0.01, 4) if isinstance(e, SpeechPaused)]
    policy.paused(paused)
    policy.transcript(paused.end_ms, "I was calling about")
    gevent.sleep(0.01)
    decision = policy.decision_for(paused.end_ms)
    assert decision is not None and (decision.silence_ms, decision.probability) == (1600, None)
