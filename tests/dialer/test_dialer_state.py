"""The attempt/contact state machine and originate results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.dialer.policy import CallingWindow, Outcome, RetryPolicy
from app.dialer.state import (
    AttemptState,
    ContactState,
    IllegalTransition,
    JobResult,
    check_attempt_transition,
    check_contact_transition,
    settle_contact,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
RETRY = RetryPolicy(max_attempts=2, base_delay=timedelta(minutes=1))


def test_job_results_from_background_job_bodies() -> None:
    ok = JobResult.parse("+OK 0b5c6f1e-9f51-4a4e-8f3c-2f6b8b3c5d11\n")
    assert ok.ok and ok.channel_uuid == "0b5c6f1e-9f51-4a4e-8f3c-2f6b8b3c5d11"
    assert ok.attempt_state is AttemptState.ANSWERED
    busy = JobResult.parse("-ERR USER_BUSY\n")
    assert (busy.ok, busy.cause, busy.attempt_state) == (False, "USER_BUSY", AttemptState.BUSY)
    assert JobResult.parse("-ERR NO_ANSWER\n").attempt_state is AttemptState.NO_ANSWER
    assert JobResult.parse("-ERR CALL_REJECTED\n").attempt_state is AttemptState.FAILED
    assert JobResult.parse("-ERR\n").cause == "UNKNOWN"


def test_contact_path_through_retry_to_done() -> None:
    check_contact_transition(ContactState.QUEUED, ContactState.DIALING)
    check_contact_transition(ContactState.DIALING, ContactState.RETRY_SCHEDULED)
    check_contact_transition(ContactState.RETRY_SCHEDULED, ContactState.DIALING)
    check_contact_transition(ContactState.DIALING, ContactState.ANSWERED)
    check_contact_transition(ContactState.ANSWERED, ContactState.DONE)
    with pytest.raises(IllegalTransition):
        check_contact_transition(ContactState.DONE, ContactState.DIALING)
    with pytest.raises(IllegalTransition):
        check_contact_transition(ContactState.ANSWERED, ContactState.DIALING)


def test_attempts_end_once() -> None:
    check_attempt_transition(AttemptState.DIALING, AttemptState.BUSY)
    with pytest.raises(IllegalTransition):
        check_attempt_transition(AttemptState.BUSY, AttemptState.ANSWERED)


def test_busy_is_retried_then_done() -> None:
    first = settle_contact(AttemptState.BUSY, "USER_BUSY", 1, retry=RETRY, now=NOW)
    assert first.state is ContactState.RETRY_SCHEDULED and first.due_at == NOW + timedelta(seconds=30)
    second = settle_contact(AttemptState.BUSY, "USER_BUSY", 2, retry=RETRY, now=NOW)
    assert (second.state, second.outcome) == (ContactState.DONE, Outcome.BUSY)


def test_invalid_number_is_not_retried() -> None:
    decision = settle_contact(AttemptState.FAILED, "UNALLOCATED_NUMBER", 1, retry=RETRY, now=NOW)
    assert (decision.state, decision.outcome) == (ContactState.DONE, Outcome.FAILED)


def test_unknown_and_answered_are_final() -> None:
    for state in (AttemptState.ANSWERED, AttemptState.UNKNOWN):
        assert settle_contact(state, None, 1, retry=RETRY, now=NOW).state is ContactState.DONE
    with pytest.raises(IllegalTransition):
        settle_contact(AttemptState.DIALING, None, 1, retry=RETRY, now=NOW)


def test_retry_lands_inside_the_callee_window() -> None:
    late = datetime(2026, 3, 3, 0, 59, tzinfo=UTC)  # 19:59 in New York: the retry would be after 20:00
    decision = settle_contact(
        AttemptState.NO_ANSWER,
        "NO_ANSWER",
        1,
        retry=RETRY,
        now=late,
        window=CallingWindow.parse("09:00-20:00"),
        zones="America/New_York",
    )
    assert decision.due_at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
