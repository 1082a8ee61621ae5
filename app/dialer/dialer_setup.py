"""What a campaign dialer is given and reports: its settings, the ESL it needs, a run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import gevent.event

from app.dialer.policy import CallingWindow, Pacing, RetryPolicy
from app.store.campaign_records import CampaignRow

# Extra seconds granted to a BACKGROUND_JOB beyond the originate timeout (gateway failover, slow trunks).
JOB_GRACE_S = 30.0


class Esl(Protocol):
    """What the dialer needs of an ESL connection (``app.esl.inbound.InboundClient`` fits)."""

    connections_made: int  # counts (re)connections: events sent while it was down were lost

    def api(self, command: str, timeout: float | None = None) -> str: ...
    def bgapi(self, command: str) -> gevent.event.AsyncResult: ...
    def wait_connected(self, timeout: float | None = None) -> bool: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DialerConfig:
    """Process-wide dialling facts: caller ID, timeouts, our own rate cap."""

    originate_timeout: int = 30
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    max_cps: float = 10.0
    stale_after: float = 30.0
    poll_interval: float = 1.0
    fallback_time_zone: str = "UTC"
    max_call_seconds: float = 4 * 3600.0


@dataclass
class RunSummary:
    dialled: int = 0
    reconciled: int = 0
    stopped_because: str = ""
    uuids: list[str] = field(default_factory=list)


def campaign_policies(campaign: CampaignRow) -> tuple[Pacing, RetryPolicy, CallingWindow | None]:
    """The pacing, retry policy and calling window a campaign row describes."""
    window = None
    if campaign.window_start and campaign.window_end:
        window = CallingWindow.parse(f"{campaign.window_start}-{campaign.window_end}")
    retry = RetryPolicy(
        max_attempts=campaign.max_attempts, base_delay=timedelta(seconds=campaign.retry_delay_s)
    )
    return Pacing(campaign.max_concurrent, campaign.cps), retry, window
