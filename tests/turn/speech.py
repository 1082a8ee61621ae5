"""Complete and cut-off sentences rendered by Piper at the call rates, cached per test process."""

from __future__ import annotations

import functools

import numpy as np

from app.media.speechset import resample
from app.tts.piper import PiperTTS

# Each pair: a whole sentence, and the same sentence stopped mid-clause.
SENTENCES = (
    (
        "I would like to book a table for two people tomorrow evening.",
        "I would like to book a table for two people and",
    ),
    (
        "My order number is four five six, and it has not arrived yet.",
        "My order number is four five six, and it has",
    ),
    ("Can you tell me when the store closes today?", "Can you tell me when the"),
    ("I have already paid the bill last week.", "I have already paid the bill because"),
    ("Please cancel my appointment on Friday.", "Please cancel my appointment on"),
)


@functools.cache
@functools.cache
def _fixed_voice() -> PiperTTS:
    return PiperTTS(varied=False)


def spoken(text: str, rate: int) -> np.ndarray:
    """int16 speech at ``rate``, ending where the voice stops (Piper's own short tail kept).

    Rendered without Piper's random variation: the same text is the same audio in every run (with it, one
    sentence scored anywhere from 0.02 to 0.78 over four renders)."""
    audio = _fixed_voice().synthesize(text)
    return resample(audio.samples, audio.rate, rate)
