"""The verdicts of answering-machine detection (shared by the detector and the transcript rules)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    """A verdict, why, and when (seconds of call audio since the stream started)."""

    verdict: Verdict
    reason: str
    at: float
