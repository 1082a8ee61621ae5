"""The end-of-turn settings, a part of :class:`app.config.Settings` (``CALLBRIDGE_TURN_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class TurnSettings(BaseModel):
    """How long the caller's pause must be before the agent takes the turn (docs/tuning.md)."""

    # "smart": Smart Turn v3.2 and the transcript choose each pause's silence; "words": the transcript
    # alone (no model inference); "silence": the fixed vad_sip_silence_ms / vad_webrtc_silence_ms.
    turn_detection: Literal["smart", "words", "silence"] = "smart"
    # Silence that ends a turn that reads finished (and the model agrees), ms.
    turn_sip_finished_ms: int = Field(default=800, ge=100)
    turn_webrtc_finished_ms: int = Field(default=600, ge=100)
    # ... that reads finished but the model doubts, ms.
    turn_sip_doubtful_ms: int = Field(default=1000, ge=100)
    turn_webrtc_doubtful_ms: int = Field(default=800, ge=100)
    # ... that reads unfinished ("... because", half a phone number); also the most any pause is held.
    turn_sip_unfinished_ms: int = Field(default=1600, ge=100, le=10_000)
    turn_webrtc_unfinished_ms: int = Field(default=1400, ge=100, le=10_000)
    # Smart Turn's probability at or above which it agrees the caller has finished.
    turn_finished_above: float = Field(default=0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _silences_grow(self) -> TurnSettings:
        for kind in ("sip", "webrtc"):
            finished, doubtful, unfinished = (
                getattr(self, f"turn_{kind}_{name}_ms") for name in ("finished", "doubtful", "unfinished")
            )
            if not finished <= doubtful <= unfinished:
                raise ValueError(
                    f"CALLBRIDGE_TURN_{kind.upper()}_FINISHED_MS <= _DOUBTFUL_MS <= _UNFINISHED_MS must hold,"
                    f" got {finished} / {doubtful} / {unfinished}"
                )
        return self
