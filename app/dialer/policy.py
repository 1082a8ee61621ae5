"""Campaign policy as plain values: calling windows, retries by hangup cause, pacing limits.

No clock is read here: every function takes ``now`` (a timezone-aware datetime) so tests drive time.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
PACING_MARGIN = 1.02
_SPS_LINE = re.compile(r"session\(s\) per Sec out of max (\d+)")


class PolicyError(ValueError):
    """A policy value (window, rate...) is malformed."""


class Outcome(enum.StrEnum):
    """What one dial attempt came to, as the state machine sees it."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    UNKNOWN = "unknown"


# Hangup causes (Q.850 names as FreeSWITCH spells them) that mean "nobody picked up".
NO_ANSWER_CAUSES = frozenset(
    {"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "ORIGINATOR_CANCEL", "RECOVERY_ON_TIMER_EXPIRE"}
)
BUSY_CAUSES = frozenset({"USER_BUSY", "NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION"})
# Failures worth another try later: the network, not the number, was the problem.
TRANSIENT_FAILURE_CAUSES = frozenset(
    {
        "NORMAL_TEMPORARY_FAILURE",
        "DESTINATION_OUT_OF_ORDER",
        "NETWORK_OUT_OF_ORDER",
        "GATEWAY_DOWN",
        "MEDIA_TIMEOUT",
    }
)
# Everything else (UNALLOCATED_NUMBER, INVALID_NUMBER_FORMAT, CALL_REJECTED, NUMBER_CHANGED...) is final.


def outcome_of_cause(cause: str) -> Outcome:
    """How a call that was never answered ended, from the ``-ERR <CAUSE>`` or the hangup cause."""
    if cause in NO_ANSWER_CAUSES:
        return Outcome.NO_ANSWER
    if cause in BUSY_CAUSES:
        return Outcome.BUSY
    return Outcome.FAILED


def is_retryable(outcome: Outcome, cause: str | None) -> bool:
    """Busy and no-answer retry; a failure retries only when its cause is transient."""
    if outcome in (Outcome.NO_ANSWER, Outcome.BUSY):
        return True
    return outcome is Outcome.FAILED and cause in TRANSIENT_FAILURE_CAUSES


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` dials per contact at most; the wait doubles after each failed attempt."""

    max_attempts: int = 3
    base_delay: timedelta = timedelta(minutes=10)
    busy_delay_factor: float = 0.5  # a busy line is worth trying again sooner than one nobody answers
    max_delay: timedelta = timedelta(hours=4)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise PolicyError("max_attempts must be at least 1")

    def next_try(
        self, outcome: Outcome, cause: str | None, attempts_made: int, now: datetime
    ) -> datetime | None:
        """When to dial again after attempt number ``attempts_made`` ended so; None: never."""
        if attempts_made >= self.max_attempts or not is_retryable(outcome, cause):
            return None
        delay: timedelta = self.base_delay * (2 ** max(attempts_made - 1, 0))
        if outcome is Outcome.BUSY:
            delay *= self.busy_delay_factor
        return now + min(delay, self.max_delay)


@dataclass(frozen=True)
class CallingWindow:
    """Local hours during which a callee may be called, e.g. 09:00-20:00 (end exclusive).

    A window whose end is earlier than its start spans midnight: 20:00-09:00 is from 20:00 to 09:00 the
    next morning.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> CallingWindow:
        match = _WINDOW.match(text.strip())
        if match is None:
            raise PolicyError(f"calling window must look like 09:00-20:00, not {text!r}")
        start = time(int(match[1]), int(match[2]))
        end_hour, end_minute = int(match[3]), int(match[4])
        if end_hour == 24 and end_minute:
            raise PolicyError(f"calling window ends after 24:00: {text!r}")
        end = time.max if end_hour == 24 else time(end_hour, end_minute)
        if end == start:
            raise PolicyError(f"calling window is empty (it starts when it ends): {text!r}")
        return cls(start, end)

    @property
    def overnight(self) -> bool:
        """True when the window spans midnight (its end is earlier in the day than its start)."""
        return self.end < self.start

    def contains(self, moment: time) -> bool:
        """True when the local wall time ``moment`` is inside the window."""
        if self.overnight:
            return moment >= self.start or moment < self.end
        return self.start <= moment < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"

    def next_allowed(self, now: datetime, zones: str | None, fallback_zone: str = "UTC") -> datetime:
        """``now`` if it is inside the window in the callee's time zone(s), else when it next is (UTC).

        ``zones`` is one IANA name or several joined by commas (a number that spans zones): the call
        must fall inside the window in every one of them. Without a zone, ``fallback_zone`` is used.
        """
        names = [name for name in (zones or "").split(",") if name] or [fallback_zone]
        candidate = now
        for _ in range(8):  # each pass moves to the latest opening; windows that overlap settle fast
            latest = max(self._next_in_zone(candidate, _zone(name, fallback_zone)) for name in names)
            if latest == candidate:
                return candidate
            candidate = latest
        # No common window across the zones: respect the first zone alone.
        return self._next_in_zone(now, _zone(names[0], fallback_zone))

    def _next_in_zone(self, now: datetime, zone: ZoneInfo) -> datetime:
        local = now.astimezone(zone)
        if self.contains(local.time()):
            return now
        # Outside an overnight window means between its end and its start: it opens later the same day.
        same_day = self.overnight or local.time() < self.start
        day = local.date() if same_day else local.date() + timedelta(days=1)
        # The opening wall time in the zone; fold=0 picks the first of an ambiguous (DST) hour.
        return datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class Pacing:
    """How fast one campaign may dial: live calls at once and originates per second."""

    max_concurrent: int
    cps: float

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise PolicyError("max_concurrent must be at least 1")
        if self.cps <= 0:
            raise PolicyError("cps must be positive")

    @property
    def interval(self) -> timedelta:
        """Minimum spacing between two originates, so no one-second span holds more than ``cps``.

        A 2 % margin absorbs the jitter between deciding to dial and the switch creating the channel.
        """
        return timedelta(seconds=PACING_MARGIN / self.cps)

    def capped(self, *limits: float | None) -> Pacing:
        """This pacing with ``cps`` lowered to the smallest of ``limits`` (None: no limit)."""
        known = [limit for limit in limits if limit is not None and limit > 0]
        return Pacing(self.max_concurrent, min([self.cps, *known]))


def sessions_per_second(status_text: str) -> int | None:
    """FreeSWITCH's own sessions-per-second cap, from the output of ``api status``."""
    match = _SPS_LINE.search(status_text)
    return int(match[1]) if match else None
