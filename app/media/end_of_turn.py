"""One call's end-of-turn decisions: gathers each pause's signals and sets the segmenter's pause limit.

When the segmenter reports a pause (:class:`SpeechPaused`), the pause is held up to the policy's cap and
the two signals are gathered: the end-of-turn model runs on the turn's audio (in a greenlet; the model's
batcher puts the inference on the inference thread), and the transcript arrives from the speculative
decode (or, for a streaming engine, is its latest partial). Once both are in, and if the caller has not
spoken again meanwhile, :func:`app.media.turn_end.decide` picks the silence that ends this pause, and
whatever the segmenter does with it (often nothing yet; an end, if that much silence has passed) goes to
``on_events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import gevent
import numpy as np

from app.media.segmenter import Segmenter, SegmenterEvent, SpeechPaused
from app.media.turn_end import PendingPause, TurnEnd, TurnEndConfig
from app.turn.batcher import TurnModelBusy

log = logging.getLogger(__name__)


class TurnPredictor(Protocol):
    """An end-of-turn model: the probability that the speaker has finished (``TurnBatcher``)."""

    def predict(self, audio: np.ndarray, rate: int) -> float: ...


class EndOfTurn:
    """The end-of-turn policy of one call, driving its segmenter's pause limit."""

    def __init__(
        self,
        segmenter: Segmenter,
        config: TurnEndConfig,
        model: TurnPredictor | None,
        on_events: Callable[[list[SegmenterEvent]], None],
        call_id: str = "",
    ) -> None:
        self.segmenter = segmenter
        self.config = config
        self.model = model
        self.on_events = on_events
        self.call_id = call_id
        self._pending: PendingPause | None = None
        self._decided: tuple[float, TurnEnd] | None = None

    def paused(self, event: SpeechPaused, *, partial: str | None = None, streaming: bool = False) -> None:
        """A pause began. ``streaming``: the engine streams, ``partial`` is the text so far (no decode to wait for)."""
        pending = PendingPause(event.end_ms, wants_text=not streaming, wants_model=self.model is not None)
        if streaming:
            pending.text(partial)
        self._pending = pending
        self.on_events(self.segmenter.set_pause_limit(self.config.unfinished_ms))
        if self.model is not None:
            gevent.spawn(self._predict, self.model, pending, event.audio)
        self._apply(pending)

    def transcript(self, end_ms: float, text: str | None) -> None:
        """The speculative decode of the turn up to the pause ending at ``end_ms`` (None: it did not run)."""
        pending = self._pending
        if pending is not None and pending.end_ms == end_ms:
            pending.text(text)
            self._apply(pending)

    def decision_for(self, end_ms: float) -> TurnEnd | None:
        """The decision that ended the utterance whose speech ended at ``end_ms``, if the policy made one."""
        if self._decided is not None and self._decided[0] == end_ms:
            return self._decided[1]
        return None

    def _predict(self, model: TurnPredictor, pending: PendingPause, audio: np.ndarray) -> None:
        try:
            probability: float | None = model.predict(audio, self.segmenter.rate)
        except TurnModelBusy:
            log.debug("call %s: end-of-turn model busy; deciding on the words alone", self.call_id)
            probability = None
        except Exception:
            log.exception("call %s: end-of-turn model failed; deciding on the words alone", self.call_id)
            probability = None
        pending.probability(probability)
        self._apply(pending)

    def _apply(self, pending: PendingPause) -> None:
        if pending is not self._pending or not pending.ready or pending.decided:
            return
        if self.segmenter.pause_end_ms != pending.end_ms:
            return  # the caller spoke again (a new pause will come) or the utterance already ended
        decision = pending.decide(self.config)
        self._decided = (pending.end_ms, decision)
        log.debug(
            "call %s: pause at %.0f ms ends after %d ms (%s, p=%s, %r)",
            self.call_id,
            pending.end_ms,
            decision.silence_ms,
            decision.reason,
            "-" if decision.probability is None else f"{decision.probability:.2f}",
            decision.text,
        )
        self.on_events(self.segmenter.set_pause_limit(decision.silence_ms))


def turn_summary(decision: TurnEnd | None) -> dict[str, object] | None:
    """What ``speech_stopped`` reports of the decision (see docs/worker-messages.md)."""
    if decision is None:
        return None
    summary: dict[str, object] = {"silence_ms": decision.silence_ms, "why": decision.reason}
    if decision.probability is not None:
        summary["probability"] = round(decision.probability, 3)
    return summary
