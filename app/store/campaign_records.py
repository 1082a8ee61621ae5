"""What the campaign store takes in and hands out: frozen dataclasses of plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class NewCampaign:
    id: str
    name: str
    flow: str | None
    max_concurrent: int
    cps: float
    window_start: str | None
    window_end: str | None
    max_attempts: int
    retry_delay_s: int
    amd_action: str
    gateways: str
    caller_id: str | None
    source: str | None


@dataclass(frozen=True)
class NewContact:
    line: int
    number: str
    time_zone: str | None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewReject:
    line: int
    raw_number: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CampaignRow:
    id: str
    name: str
    flow: str | None
    status: str
    max_concurrent: int
    cps: float
    window_start: str | None
    window_end: str | None
    max_attempts: int
    retry_delay_s: int
    amd_action: str
    gateways: str
    caller_id: str | None
    source: str | None
    created_at: datetime
    next_dispatch_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class AttemptRow:
    uuid: str
    campaign_id: str
    line: int
    attempt: int
    number: str
    dialer_id: str
    state: str
    channel_uuid: str | None
    gateway: str | None
    job_result: str | None
    hangup_cause: str | None
    amd_verdict: str | None
    billsec: int | None
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class Claimed:
    """A contact taken for dialling: its attempt row (with ``uuid``) is committed."""

    uuid: str
    campaign_id: str
    line: int
    attempt: int
    number: str
    time_zone: str | None
    variables: Mapping[str, str]


@dataclass(frozen=True)
class ClaimWait:
    """Nothing to dial now. ``reason``: paused, cancelled, completed, full, pacing, not_due, drained.

    ``until`` is when trying again makes sense (None: when something changes, e.g. a call ends).
    ``drained`` means no contact is left to dial (live calls may still be running).
    """

    reason: str
    until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class AttemptEnd:
    """How an attempt ended and where its contact goes next (decided by the dialer's state machine)."""

    state: str
    at: datetime
    hangup_cause: str | None = None
    job_result: str | None = None
    gateway: str | None = None
    billsec: int | None = None
    contact_state: str
    contact_outcome: str | None
    contact_due_at: datetime | None
