"""Settling an originate whose reply was lost: what FreeSWITCH and the call log say decides."""

from __future__ import annotations

import pytest

from app.dialer.lost_originate import LostOutcome, RecordedCall, lost_originate_outcome


@pytest.mark.parametrize(
    ("exists", "record", "outcome"),
    [
        (True, None, LostOutcome.FOLLOW),  # still ringing or up
        (True, RecordedCall(answered=True, ended=False), LostOutcome.FOLLOW),
        (False, RecordedCall(answered=True, ended=True), LostOutcome.ANSWERED),  # answered, over
        (False, None, LostOutcome.NEVER_ANSWERED),  # nobody has it: a retry is a new attempt
        (False, RecordedCall(answered=True, ended=False), LostOutcome.ANSWERED),  # its end not written yet
        (False, RecordedCall(answered=False, ended=True), LostOutcome.UNKNOWN),
        (None, None, LostOutcome.UNKNOWN),  # the switch could not be asked: never redial
    ],
)
def test_the_witnesses_decide_and_doubt_never_redials(
    exists: bool | None, record: RecordedCall | None, outcome: LostOutcome
) -> None:
    assert lost_originate_outcome(exists, record) is outcome
