"""What became of an originate whose result was lost with the event socket. Pure.

When the ESL connection drops while an originate's BACKGROUND_JOB is pending, its reply never comes. The
call itself may be ringing, up, over, or may never have started (FreeSWITCH went away with it). Once the
switch answers again the dialer asks two witnesses: FreeSWITCH (``uuid_exists`` on the call's
``origination_uuid``, which the dialer chose) and the call log (every answered call reaches the
controller, which records it under that uuid before anything else). From them:

- the channel exists: follow it to its hangup, as if the reply had come;
- the call log has it answered: it was answered and is over: settle it from the record (its end may
  still be on its way from the controller, which writes it after the hangup: answered is what decides
  that the contact was reached, and the record's cause and billsec follow when the controller writes them);
- neither: it was never answered, so dialling again is a new attempt, not a second call: settle it as a
  transient failure and let the retry policy decide;
- a witness cannot tell (the switch still away, the API failing): never guess, never redial (unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# The cause recorded on an attempt that never reached anyone and whose reply was lost: transient, so
# the contact is retried if it has attempts left.
LOST_CAUSE = "NORMAL_TEMPORARY_FAILURE"


@dataclass(frozen=True)
class RecordedCall:
    """The call log's row for the call, as far as settling the attempt needs it."""

    answered: bool
    ended: bool


class LostOutcome(Enum):
    FOLLOW = "follow"  # still up: wait for its hangup
    ANSWERED = "answered"  # answered and over, per the call log
    NEVER_ANSWERED = "never_answered"  # nobody has it: retry per policy
    UNKNOWN = "unknown"  # cannot tell: close the attempt, do not redial


def lost_originate_outcome(channel_exists: bool | None, record: RecordedCall | None) -> LostOutcome:
    """``channel_exists``: FreeSWITCH's answer, None if it could not be asked."""
    if channel_exists is None:
        return LostOutcome.UNKNOWN
    if channel_exists:
        return LostOutcome.FOLLOW
    if record is not None and record.answered:
        return LostOutcome.ANSWERED
    if record is not None:
        return LostOutcome.UNKNOWN  # the controller saw it, unanswered: odd enough not to redial
    return LostOutcome.NEVER_ANSWERED
