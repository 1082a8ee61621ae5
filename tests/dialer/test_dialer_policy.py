"""Calling windows, retries by hangup cause, pacing caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.dialer.policy import (
    CallingWindow,
    Outcome,
    Pacing,
    PolicyError,
    RetryPolicy,
    outcome_of_cause,
    sessions_per_second,
)

WINDOW = CallingWindow.parse("09:00-20:00")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_inside_the_window_in_the_callee_zone_calls_now() -> None:
    now = utc(2026, 3, 2, 15, 0)  # 10:00 in New York, 07:00 in Los Angeles
    assert WINDOW.next_allowed(now, "America/New_York") == now
    assert WINDOW.next_allowed(now, "America/Los_Angeles") == utc(2026, 3, 2, 17, 0)


def test_after_the_window_waits_for_the_next_local_morning() -> None:
    now = utc(2026, 3, 3, 2, 0)  # 21:00 on the 2nd in New York
    assert WINDOW.next_allowed(now, "America/New_York") == utc(2026, 3, 3, 14, 0)


def test_window_opening_follows_daylight_saving_time() -> None:
    # 8 March 2026: New York moves from UTC-5 to UTC-4.
    assert WINDOW.next_allowed(utc(2026, 3, 8, 2, 0), "America/New_York") == utc(2026, 3, 8, 13, 0)


def test_several_zones_must_all_be_inside_the_window() -> None:
    now = utc(2026, 3, 2, 15, 0)
    assert WINDOW.next_allowed(now, "America/Los_Angeles,America/New_York") == utc(2026, 3, 2, 17, 0)


def test_unknown_zone_uses_the_fallback() -> None:
    now = utc(2026, 3, 2, 8, 0)
    assert WINDOW.next_allowed(now, None, "UTC") == utc(2026, 3, 2, 9, 0)
    assert WINDOW.next_allowed(now, "Not/AZone", "Europe/Paris") == now


@pytest.mark.parametrize("text", ["9-17", "09:00-09:00", "25:00-26:00", "09:00-24:30"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        CallingWindow.parse(text)


OVERNIGHT = CallingWindow.parse("20:00-09:00")


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (20, 0, (2026, 3, 2, 20, 0)),  # the opening minute is inside
        (23, 59, (2026, 3, 2, 23, 59)),
        (0, 0, (2026, 3, 2, 0, 0)),  # past midnight, still inside
        (8, 59, (2026, 3, 2, 8, 59)),
        (9, 0, (2026, 3, 2, 20, 0)),  # the end is exclusive: wait for the evening
        (19, 59, (2026, 3, 2, 20, 0)),
    ],
)
def test_overnight_window_spans_midnight(
    hour: int, minute: int, expected: tuple[int, int, int, int, int]
) -> None:
    assert OVERNIGHT.overnight and not WINDOW.overnight
    assert OVERNIGHT.next_allowed(utc(2026, 3, 2, hour, minute), "UTC") == utc(*expected)


def test_overnight_window_in_the_callee_zone() -> None:
    # 14:00 UTC is 09:00 in New York (closed until 20:00 local, 01:00 UTC) and 06:00 in Los Angeles (open).
    now = utc(2026, 3, 2, 14, 0)
    assert OVERNIGHT.next_allowed(now, "America/Los_Angeles") == now
    assert OVERNIGHT.next_allowed(now, "America/New_York") == utc(2026, 3, 3, 1, 0)
    assert str(OVERNIGHT) == "20:00-09:00"


def test_window_up_to_midnight() -> None:
    window = CallingWindow.parse("00:00-24:00")
    assert str(window) == "00:00-24:00"
    now = utc(2026, 3, 2, 23, 59)
    assert window.next_allowed(now, "UTC") == now


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        ("USER_BUSY", Outcome.BUSY),
        ("NO_ANSWER", Outcome.NO_ANSWER),
        ("NO_USER_RESPONSE", Outcome.NO_ANSWER),
        ("CALL_REJECTED", Outcome.FAILED),
        ("UNALLOCATED_NUMBER", Outcome.FAILED),
    ],
)
def test_causes_map_to_outcomes(cause: str, outcome: Outcome) -> None:
    assert outcome_of_cause(cause) is outcome


def test_retries_by_cause_with_backoff_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=timedelta(minutes=10))
    now = utc(2026, 1, 1, 12, 0)
    assert policy.next_try(Outcome.NO_ANSWER, "NO_ANSWER", 1, now) == now + timedelta(minutes=10)
    assert policy.next_try(Outcome.NO_ANSWER, "NO_ANSWER", 2, now) == now + timedelta(minutes=20)
    assert policy.next_try(Outcome.BUSY, "USER_BUSY", 1, now) == now + timedelta(minutes=5)
    assert policy.next_try(Outcome.NO_ANSWER, "NO_ANSWER", 3, now) is None  # cap reached
    assert policy.next_try(Outcome.FAILED, "UNALLOCATED_NUMBER", 1, now) is None  # invalid number
    assert policy.next_try(Outcome.FAILED, "NORMAL_TEMPORARY_FAILURE", 1, now) is not None
    assert policy.next_try(Outcome.ANSWERED, None, 1, now) is None


def test_pacing_never_exceeds_the_switch_or_our_cap() -> None:
    pacing = Pacing(max_concurrent=20, cps=50)
    assert pacing.capped(10.0, 30).cps == 10.0
    assert pacing.capped(None, 30).cps == 30
    assert pacing.capped(None, None).cps == 50
    assert Pacing(1, 4).interval == timedelta(seconds=0.255)  # 1/cps and a 2 % margin
    with pytest.raises(PolicyError):
        Pacing(0, 1)


def test_sessions_per_second_is_read_from_a_real_status_reply(fs_fixtures: Path) -> None:
    transcript = (fs_fixtures / "inbound-esl.txt").read_text(encoding="utf-8", errors="replace")
    assert sessions_per_second(transcript) == 30
    assert sessions_per_second("nothing") is None
