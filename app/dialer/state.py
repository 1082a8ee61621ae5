"""The attempt and contact state machine, as pure functions over explicit states.

A contact goes ``queued -> dialing -> answered -> done`` when someone picks up, or
``queued -> dialing -> retry_scheduled -> dialing ... -> done`` when attempts fail; each dial is an
attempt that goes ``dialing -> answered | no_answer | busy | failed`` (or ``unknown`` when its dialer died
and nothing tells what became of it: such a contact is never dialled again).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from app.dialer.policy import CallingWindow, Outcome, RetryPolicy, outcome_of_cause


class IllegalTransition(ValueError):
    """A state change the machine does not allow (a bug, or a second writer)."""


class ContactState(enum.StrEnum):
    QUEUED = "queued"
    DIALING = "dialing"
    ANSWERED = "answered"
    RETRY_SCHEDULED = "retry_scheduled"
    DONE = "done"


class AttemptState(enum.StrEnum):
    DIALING = "dialing"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    UNKNOWN = "unknown"


CONTACT_TRANSITIONS: dict[ContactState, frozenset[ContactState]] = {
    ContactState.QUEUED: frozenset({ContactState.DIALING, ContactState.DONE}),
    ContactState.DIALING: frozenset({ContactState.ANSWERED, ContactState.RETRY_SCHEDULED, ContactState.DONE}),
    ContactState.ANSWERED: frozenset({ContactState.DONE}),
    ContactState.RETRY_SCHEDULED: frozenset({ContactState.DIALING, ContactState.DONE}),
    ContactState.DONE: frozenset(),
}
ATTEMPT_TRANSITIONS: dict[AttemptState, frozenset[AttemptState]] = {
    AttemptState.DIALING: frozenset(set(AttemptState) - {AttemptState.DIALING}),
    AttemptState.ANSWERED: frozenset(),  # the end of an answered call is recorded on the same state
    AttemptState.NO_ANSWER: frozenset(),
    AttemptState.BUSY: frozenset(),
    AttemptState.FAILED: frozenset(),
    AttemptState.UNKNOWN: frozenset(),
}
# States in which a contact is not finished (and in which a campaign is not complete).
OPEN_CONTACT_STATES = frozenset(set(ContactState) - {ContactState.DONE})
DISPATCHABLE_CONTACT_STATES = frozenset({ContactState.QUEUED, ContactState.RETRY_SCHEDULED})


def check_contact_transition(old: ContactState, new: ContactState) -> None:
    if new not in CONTACT_TRANSITIONS[old]:
        raise IllegalTransition(f"contact cannot go from {old} to {new}")


def check_attempt_transition(old: AttemptState, new: AttemptState) -> None:
    if new not in ATTEMPT_TRANSITIONS[old]:
        raise IllegalTransition(f"attempt cannot go from {old} to {new}")


@dataclass(frozen=True)
class JobResult:
    """The body of originate's BACKGROUND_JOB: ``+OK <uuid>`` or ``-ERR <CAUSE>``."""

    ok: bool
    channel_uuid: str | None
    cause: str | None
    text: str

    @classmethod
    def parse(cls, body: str) -> JobResult:
        text = body.strip()
        head, _, rest = text.partition(" ")
        if head == "+OK":
            return cls(True, rest.strip() or None, None, text)
        cause = rest.strip().split()[0] if rest.strip() else "UNKNOWN"
        return cls(False, None, cause if cause.replace("_", "").isalnum() else "UNKNOWN", text)

    @property
    def attempt_state(self) -> AttemptState:
        if self.ok:
            return AttemptState.ANSWERED
        return AttemptState(outcome_of_cause(self.cause or "UNKNOWN").value)


@dataclass(frozen=True)
class ContactDecision:
    """Where a contact goes once an attempt is over: done (with an outcome) or retry at ``due_at``."""

    state: ContactState
    outcome: Outcome | None
    due_at: datetime | None


def settle_contact(
    attempt_state: AttemptState,
    cause: str | None,
    attempts_made: int,
    *,
    retry: RetryPolicy,
    now: datetime,
    window: CallingWindow | None = None,
    zones: str | None = None,
) -> ContactDecision:
    """Decide a contact's next state after attempt number ``attempts_made`` ended in ``attempt_state``.

    A retry falls inside the calling window of the callee (``zones``) when there is one.
    """
    if attempt_state is AttemptState.DIALING:
        raise IllegalTransition("an attempt still dialing has not ended")
    outcome = Outcome(attempt_state.value)
    if outcome in (Outcome.ANSWERED, Outcome.UNKNOWN):
        return ContactDecision(ContactState.DONE, outcome, None)
    retry_at = retry.next_try(outcome, cause, attempts_made, now)
    if retry_at is None:
        return ContactDecision(ContactState.DONE, outcome, None)
    if window is not None:
        retry_at = window.next_allowed(retry_at, zones)
    return ContactDecision(ContactState.RETRY_SCHEDULED, None, retry_at)
