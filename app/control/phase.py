"""Where a call is in its life, as the session and the dialogue see it."""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    ANSWERING = "answering"
    ACTIVE = "active"
    HANGING_UP = "hanging_up"
    TRANSFERRED = "transferred"
    ENDED = "ended"
