"""How long a pause must last to end the caller's turn, from what is known when it begins. Pure.

Silero only says speech or not. When the caller pauses, two more signals are gathered: the end-of-turn
model's probability that the speaker has finished (Smart Turn, on the turn's audio), and the transcript
of the turn so far (the speculative decode the pipeline runs anyway). The silence that ends the turn is
then short when both say "finished", longer when the model doubts, longest when the words are plainly
unfinished ("... because"), and never more than that whatever happens: until both signals are in, the
pause is held up to ``unfinished_ms``, so a slow decode can delay an end but never lose one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.media.turn_text import unfinished_reason


@dataclass(frozen=True)
class TurnEndConfig:
    """End-of-turn silences for one kind of call, in milliseconds of silence after the last speech.

    The defaults are the SIP profile's, chosen on bench/turn_pauses.py (see docs/speech-evaluation.md).
    """

    finished_ms: int = 800
    """The words read finished and the model agrees."""
    doubtful_ms: int = 1000
    """The words read finished but the model is not sure the speaker is done."""
    unfinished_ms: int = 1600
    """The words are plainly unfinished ("... and", "to", "um", half a phone number). Also the hard cap:
    a pause is held no longer than this while a signal is still on its way."""
    finished_above: float = 0.5
    """The model's probability at or above which it agrees the caller has finished."""

    def __post_init__(self) -> None:
        if not 0 < self.finished_ms <= self.doubtful_ms <= self.unfinished_ms:
            raise ValueError(
                "end-of-turn silences must grow: finished <= doubtful <= unfinished, got "
                f"{self.finished_ms} / {self.doubtful_ms} / {self.unfinished_ms} ms"
            )
        if not 0.0 <= self.finished_above <= 1.0:
            raise ValueError(f"end-of-turn threshold {self.finished_above} is not a probability")


@dataclass(frozen=True)
class TurnEnd:
    """The decision for one pause: the silence that ends the turn, and why."""

    silence_ms: int
    reason: str  # "finished", "model_unsure", "words:<rule>", "no_signal"
    probability: float | None = None
    text: str | None = None


def decide(config: TurnEndConfig, text: str | None, probability: float | None) -> TurnEnd:
    """The end-of-turn silence for a pause, given the transcript and the model's probability.

    ``None`` for a signal that is not available (no model, a failed inference, a decode that did not
    run): the decision then rests on what is known, and on nothing known it is ``finished_ms``. The model
    only ever lengthens the wait: alone it takes too many mid-sentence pauses for ends to shorten one.
    """
    words = unfinished_reason(text) if text else None
    if words is not None:
        return TurnEnd(config.unfinished_ms, f"words:{words}", probability, text)
    if probability is not None and probability < config.finished_above:
        return TurnEnd(config.doubtful_ms, "model_unsure", probability, text)
    reason = "finished" if text or probability is not None else "no_signal"
    return TurnEnd(config.finished_ms, reason, probability, text)


class PendingPause:
    """The signals of one pause as they arrive; :meth:`ready` once every awaited one is in."""

    def __init__(self, end_ms: float, *, wants_text: bool, wants_model: bool) -> None:
        self.end_ms = end_ms
        """Audio time the speech paused at: identifies the pause (a later pause has a later end)."""
        self._wants_text = wants_text
        self._wants_model = wants_model
        self._text: str | None = None
        self._probability: float | None = None
        self.decided = False

    def text(self, text: str | None) -> None:
        """The transcript of the turn up to this pause (None: the decode did not run or failed)."""
        self._text, self._wants_text = text, False

    def probability(self, probability: float | None) -> None:
        """The model's probability that the turn is finished (None: no result)."""
        self._probability, self._wants_model = probability, False

    @property
    def ready(self) -> bool:
        return not (self._wants_text or self._wants_model)

    def decide(self, config: TurnEndConfig) -> TurnEnd:
        """The decision (call once :attr:`ready`); marks the pause decided."""
        self.decided = True
        return decide(config, self._text, self._probability)
