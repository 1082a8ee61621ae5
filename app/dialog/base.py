"""The one interface every dialog brain implements: call context and caller input in, actions out.

An :class:`Agent` belongs to one call. ``respond()`` returns an iterator: a pure state machine can drain it
at once (scripted flows never block), and a greenlet can pull an LLM's pieces one by one and hand each to
the session as it arrives, so the first sentence reaches TTS before the model has finished. The end of the
iterator is the end of the agent's turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

# --- what the agent knows about the call ---------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One thing said on the call. For an interrupted agent turn, ``heard_text`` is what the caller heard."""

    speaker: Literal["caller", "agent"]
    text: str
    interrupted: bool = False
    heard_text: str | None = None


@dataclass(frozen=True)
class CallContext:
    """The call as the agent sees it; the session builds a fresh one for every input."""

    uuid: str
    direction: str = "inbound"
    call_type: str = "sip"
    caller: str | None = None
    callee: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)  # campaign (CSV) or channel variables
    history: Sequence[Turn] = ()


# --- what the caller did --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    """The call is answered: the agent speaks first (greeting)."""


@dataclass(frozen=True)
class Utterance:
    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class Dtmf:
    """Digits the caller pressed (one key, or what a CollectDtmf gathered)."""

    digits: str


@dataclass(frozen=True)
class NoInput:
    """The caller said nothing for the no-input timeout after the agent finished speaking."""


@dataclass(frozen=True)
class MachineAnswered:
    """An answering machine took the call and its greeting has ended: leave a message now (or hang up)."""


Input = CallStarted | Utterance | Dtmf | NoInput | MachineAnswered


# --- what the agent wants done --------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Speak ``text`` (one sentence or more); pieces of one turn arrive in order and play in order."""

    text: str


@dataclass(frozen=True)
class Hangup:
    """End the call once what was said before it has played."""

    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class Transfer:
    """Hand the call over (``uuid_transfer``) once what was said before it has played.

    ``destination`` is a dialplan extension (``1000``, ``sales``) or a SIP URI (``sip:agent@pbx.example``);
    it is checked when the action is made, see :func:`check_destination`.
    """

    destination: str

    def __post_init__(self) -> None:
        check_destination(self.destination)

    @property
    def is_sip_uri(self) -> bool:
        return self.destination.startswith(("sip:", "sips:"))


@dataclass(frozen=True)
class SendDtmf:
    """Play DTMF tones to the far end (``uuid_send_dtmf``), e.g. to navigate an IVR."""

    digits: str

    def __post_init__(self) -> None:
        if not DTMF_DIGITS.fullmatch(self.digits):
            raise ValueError(f"not DTMF digits: {self.digits!r}")


@dataclass(frozen=True)
class CollectDtmf:
    """Gather up to ``max_digits`` keys, ending early on ``terminator`` or after ``timeout`` seconds of
    silence; the session then calls ``respond()`` with one :class:`Dtmf` holding them all."""

    max_digits: int = 1
    timeout: float = 5.0
    terminator: str | None = "#"


@dataclass(frozen=True)
class AgentError:
    """The brain failed on this turn (the API timed out, refused, or cut the stream).

    The agent still yields a spoken fallback after it; the session records this on the turn.
    """

    kind: str  # "connect", "first_token", "timeout", "http_429", "http_500", "stream_cut", "bad_response"
    detail: str


AgentAction = Say | Hangup | Transfer | SendDtmf | CollectDtmf | AgentError


class Agent(Protocol):
    """A dialog brain for one call."""

    def respond(self, context: CallContext, event: Input) -> Iterator[AgentAction]:
        """Yield what to do about ``event``, each piece as soon as it exists; the turn ends with the iterator.

        Never raises for a failure of the brain's own backend: it yields :class:`AgentError` and a spoken
        fallback instead, so the caller never hears dead air.
        """
        ...


@runtime_checkable
class Rehearsing(Protocol):
    """An agent that can say what it would answer without committing to it (its replies are then rendered
    while the caller's end of turn is still being decided)."""

    def rehearse(self, context: CallContext, event: Input) -> list[str]:
        """The texts ``respond`` would say to ``event``, leaving the agent's state untouched."""
        ...


AgentFactory = Callable[[CallContext], Agent]
"""Makes the agent for a new call (the context is the call at answer, with no history)."""


# --- checks -----------------------------------------------------------------------------------------------

DTMF_DIGITS = re.compile(r"[0-9A-Da-d*#wW]{1,64}")
_EXTENSION = re.compile(r"[A-Za-z0-9_+*#.-]{1,64}")
_SIP_URI = re.compile(r"sips?:(?:[A-Za-z0-9_.+*#-]{1,64}@)?[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")


def check_destination(destination: str) -> str:
    """Return ``destination`` if it is a dialplan extension or a SIP URI that is safe in an ESL command."""
    if _EXTENSION.fullmatch(destination) or _SIP_URI.fullmatch(destination):
        return destination
    raise ValueError(
        f"transfer destination {destination!r} is neither a dialplan extension (letters, digits, _+*#.-) "
        "nor a SIP URI (sip:user@host[:port])"
    )
