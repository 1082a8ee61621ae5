"""Agent turns: what was said and heard, and the latency breakdown from caller speech end to agent audio.

Times are wall-clock microseconds (FreeSWITCH's ``Event-Date-Timestamp`` or the controller's clock on the
same host); the breakdown is stored in milliseconds relative to the moment the caller stopped speaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.control.sentences import heard_text

MARKS = (
    "eou_decided",
    "transcript_ready",
    "first_text",
    "first_audio",
    "broadcast_sent",
    "playback_started",
)


@dataclass
class AgentTurn:
    number: int
    trigger: str  # "call_started" | "utterance" | "dtmf" | "no_input"
    origin_us: int  # caller speech end (or answer / timeout): what the latencies are measured from
    marks: dict[str, int] = field(default_factory=dict)
    said: list[tuple[int, str, int | None, int | None]] = field(
        default_factory=list
    )  # order, text, heard, ms
    interrupted: bool = False
    generating: bool = True
    errors: list[str] = field(default_factory=list)
    started_us: int | None = None
    ended_us: int | None = None

    def mark(self, name: str, at_us: int) -> None:
        self.marks.setdefault(name, at_us)

    def add_said(self, order: int, text: str, heard_ms: int | None, duration_ms: int | None) -> None:
        self.said.append((order, text, heard_ms, duration_ms))
        self.said.sort()

    @property
    def text(self) -> str:
        return " ".join(text for _, text, _, _ in self.said)

    @property
    def heard(self) -> str:
        return " ".join(filter(None, (heard_text(t, h, d) for _, t, h, d in self.said)))

    @property
    def heard_ms(self) -> int:
        return sum(h or 0 for _, _, h, _ in self.said)

    def timings(self) -> dict[str, object]:
        """The breakdown in ms from ``origin`` (caller speech end), as the turns table stores it."""
        out: dict[str, object] = {"trigger": self.trigger}
        for name in MARKS:
            if name in self.marks:
                out[f"{name}_ms"] = round((self.marks[name] - self.origin_us) / 1000, 1)
        if "playback_started" in self.marks:
            out["voice_to_voice_ms"] = out["playback_started_ms"]
            if "eou_decided" in self.marks:
                out["server_ms"] = round(
                    (self.marks["playback_started"] - self.marks["eou_decided"]) / 1000, 1
                )
        if self.interrupted:
            out["heard_text"] = self.heard
        if self.errors:
            out["errors"] = list(self.errors)
        return out


_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def looks_like_echo(heard: str, agent_texts: list[str], min_overlap: float = 0.8) -> bool:
    """True when what the caller 'said' is mostly the agent's own recent words coming back down the line."""
    caller = words(heard)
    if len(caller) < 2:
        return False
    agent = set()
    for text in agent_texts:
        agent.update(words(text))
    if not agent:
        return False
    return sum(w in agent for w in caller) / len(caller) >= min_overlap
