"""A scripted flow after loading and validation: plain immutable data the FlowAgent walks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.dialog.matchers import Matcher

BUILTIN_VARIABLES = ("caller", "callee", "direction", "call_type")


@dataclass(frozen=True)
class Route:
    """If ``matcher`` accepts the answer: store it in ``capture``, set ``assign``, say ``say``, go to ``goto``."""

    matcher: Matcher
    goto: str
    capture: str | None = None
    assign: Mapping[str, str] = field(default_factory=dict)
    say: str | None = None
    line: int = 0


@dataclass(frozen=True)
class DtmfCollection:
    max_digits: int = 1
    timeout: float = 5.0
    terminator: str | None = "#"


@dataclass(frozen=True)
class Node:
    """Say ``say``, then exactly one of: wait for an answer (``routes``), go on (``goto``), ``hangup``,
    or ``transfer``."""

    name: str
    say: str = ""
    routes: tuple[Route, ...] = ()
    goto: str | None = None
    hangup: bool = False
    transfer: str | None = None
    collect: DtmfCollection | None = None
    reprompt: str | None = None
    no_input: str | None = None
    retries: int = 2
    on_fail: str | None = None
    line: int = 0

    @property
    def waits(self) -> bool:
        return bool(self.routes)


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: Mapping[str, Node]
    greeting: str | None = None
    defaults: Mapping[str, str] = field(
        default_factory=dict
    )  # variables with a value unless the call sets one
    inputs: tuple[str, ...] = ()  # variables each call must bring (CSV columns, channel variables)
    llm_prompt: str | None = None  # system prompt when this flow's campaign runs with the LLM brain
    voicemail: str | None = None  # left on an answering machine (campaigns with --amd voicemail)
    source: Path | None = None
