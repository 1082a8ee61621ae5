"""The turn batcher: several greenlets at once, one batch in the VAD's thread, the same answers."""

from __future__ import annotations

import gevent
import numpy as np
import pytest

from app.turn.batcher import TurnBatcher, TurnModelBusy
from app.turn.smart_turn import SmartTurnModel, shared_turn_model
from app.vad.batcher import VadBatcher
from app.vad.silero import shared_model
from tests.turn.speech import SENTENCES, spoken


@pytest.fixture(scope="module")
def model() -> SmartTurnModel:
    return shared_turn_model()


def test_calls_waiting_together_are_batched_with_their_own_answers(model: SmartTurnModel) -> None:
    vad = VadBatcher(shared_model())
    turns = TurnBatcher.beside(vad, model, max_batch=4)
    requests = [
        (spoken(text, rate), rate) for pair in SENTENCES[:3] for text in pair for rate in (8000, 16000)
    ]
    try:
        jobs = [gevent.spawn(turns.predict, audio, rate) for audio, rate in requests]
        ticks: list[int] = []
        ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.005) or 1) for _ in range(1000)])
        gevent.joinall(jobs, raise_error=True)
        ticker.kill()
    finally:
        turns.stop()
        vad.stop()
    expected = [model.predict(audio, rate) for audio, rate in requests]
    np.testing.assert_allclose([j.value for j in jobs], expected, atol=1e-5)
    assert turns.predictions == len(requests)
    assert turns.batches < len(requests)  # requests that waited together went through together
    assert ticks  # the event loop kept running while the model did


def test_it_runs_in_the_vads_thread() -> None:
    vad = VadBatcher(shared_model())
    try:
        turns = TurnBatcher.beside(vad)
        assert vad.threadpool is not None and turns._pool is vad.threadpool
        turns.stop()
        assert vad.threadpool.spawn(lambda: 42).get() == 42  # stopping the turn batcher left it running
    finally:
        vad.stop()


def test_a_failed_inference_reaches_the_caller(model: SmartTurnModel) -> None:
    turns = TurnBatcher(model, use_thread=False)
    try:
        with pytest.raises(ValueError, match="8000 or 16000"):
            turns.predict(np.zeros(100, dtype=np.int16), 44100)
        # ... and the batcher still answers afterwards, exactly as the model does on the same audio
        # (not a threshold: Piper's renders vary, and so does the probability).
        audio = spoken(SENTENCES[0][0], 16000)
        assert turns.predict(audio, 16000) == pytest.approx(model.predict(audio, 16000), abs=1e-5)
    finally:
        turns.stop()


def test_a_full_queue_refuses_at_once_instead_of_answering_late(model: SmartTurnModel) -> None:
    turns = TurnBatcher(model, use_thread=False, max_pending=2)
    audio = spoken(SENTENCES[0][0], 16000)
    try:
        # Three calls pause in the same instant: the scheduler has not run yet when the third asks.
        jobs = [gevent.spawn(turns.predict, audio, 16000) for _ in range(3)]
        gevent.joinall(jobs, timeout=60)
        refused = [job for job in jobs if isinstance(job.exception, TurnModelBusy)]
        answered = [job.value for job in jobs if job.successful()]
        assert len(refused) == 1 and turns.refused == 1
        assert len(answered) == 2 and answered[0] == pytest.approx(answered[1], abs=1e-6)
    finally:
        turns.stop()
