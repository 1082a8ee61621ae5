"""What the call log takes in and hands out: plain frozen dataclasses, checked on construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.domain import CallState, CallType, Direction, Speaker, parse_call_id

DIRECTIONS = frozenset(member.value for member in Direction)
CALL_TYPES = frozenset(member.value for member in CallType)
STATES = frozenset(member.value for member in CallState)
TERMINAL_STATES = frozenset({CallState.ENDED.value, CallState.FAILED.value})
SPEAKERS = frozenset(member.value for member in Speaker)


@dataclass(frozen=True, kw_only=True)
class NewCall:
    """A call as the controller first sees it (the channel uuid is FreeSWITCH's)."""

    uuid: str
    direction: str
    call_type: str
    caller: str | None
    callee: str | None
    gateway: str | None = None
    campaign_ref: str | None = None
    created_at: datetime

    def __post_init__(self) -> None:
        check_call_uuid(self.uuid)
        check_choice("direction", self.direction, DIRECTIONS)
        check_choice("call_type", self.call_type, CALL_TYPES)
        check_aware("created_at", self.created_at)


@dataclass(frozen=True)
class CallRow:
    """One row of ``calls``. ``direction``/``call_type`` are "unknown" on a placeholder row."""

    uuid: str
    direction: str
    call_type: str
    caller: str | None
    callee: str | None
    gateway: str | None
    campaign_ref: str | None
    state: str
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    hangup_cause: str | None
    billsec: int | None
    duration: int | None


@dataclass(frozen=True)
class EventRow:
    """One row of ``call_events``: ``seq`` counts from 1 within the call."""

    call_uuid: str
    seq: int
    name: str
    occurred_at: datetime
    detail: Mapping[str, object] | None


@dataclass(frozen=True)
class TurnRow:
    """One row of ``turns``: ``seq`` counts from 1 within the call."""

    call_uuid: str
    seq: int
    speaker: str
    text: str
    started_at: datetime | None
    ended_at: datetime | None
    interrupted: bool
    heard_ms: int | None
    timings: Mapping[str, object] | None
    # The writer's idempotency key (None for rows written without one).
    write_key: str | None = None


def check_call_uuid(value: str) -> None:
    """Raise ValueError unless ``value`` is a canonical lower-case uuid (what FreeSWITCH hands out).

    Upper-case input is refused rather than folded: the row would then be found only by its folded form.
    """
    if parse_call_id(value) != value:
        raise ValueError(f"call uuid {value!r} must be in canonical lower-case form")


def check_choice(field: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{field} must be one of {sorted(allowed)}, not {value!r}")


def check_aware(field: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{field} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got naive {value.isoformat()}")


def check_count(field: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative int or None, not {value!r}")


def check_optional_text(field: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{field} must be a str or None, not {type(value).__name__}")
