"""Campaign set-up and reports: CSV file -> stored campaign, stored results -> CSV file."""

from __future__ import annotations

import csv
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from app.dialer.csv_import import CsvFormatError, ImportResult, read_contacts
from app.dialer.dialstring import GATEWAY_NAME
from app.dialer.flows import UnknownFlow, check_flow
from app.dialer.policy import CallingWindow, Pacing, PolicyError, RetryPolicy
from app.store.campaign_records import NewCampaign, NewContact, NewReject
from app.store.campaigns import CampaignStore

AMD_ACTIONS = ("continue", "hangup", "voicemail")
RESULT_COLUMNS = (
    "line",
    "number",
    "state",
    "outcome",
    "attempts",
    "uuid",
    "channel_uuid",
    "gateway",
    "hangup_cause",
    "job_result",
    "amd_verdict",
    "billsec",
    "answered_at",
    "variables",
)


class NoContacts(CsvFormatError):
    """The file has a header but not one callable row: nothing is stored."""

    def __init__(self, source: str, result: ImportResult) -> None:
        skipped = f" ({len(result.rejected)} lines skipped)" if result.rejected else ""
        super().__init__(f"no contacts in {source}{skipped}")
        self.result = result


_CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class CampaignOptions:
    """What ``callbridge campaign run`` is told about a campaign (validated by :meth:`check`)."""

    name: str
    flow: str | None = None
    max_concurrent: int = 10
    cps: float = 1.0
    window: str | None = None
    retries: int = 2
    retry_delay_s: int = 600
    amd_action: str = "continue"
    gateways: tuple[str, ...] = ("twilio", "vonage")
    caller_id: str | None = None
    number_column: str = "phone"
    default_region: str = "US"
    campaign_id: str | None = None

    def check(self) -> None:
        """Raise PolicyError on a bad value, before anything is stored."""
        Pacing(self.max_concurrent, self.cps)
        RetryPolicy(max_attempts=self.retries + 1)
        if self.window is not None:
            CallingWindow.parse(self.window)
        if self.flow is not None:
            try:
                check_flow(self.flow)
            except UnknownFlow as exc:
                raise PolicyError(str(exc)) from None
        if self.amd_action not in AMD_ACTIONS:
            raise PolicyError(f"answering-machine action must be one of {AMD_ACTIONS}")
        if self.retry_delay_s < 0:
            raise PolicyError("retry delay must not be negative")
        bad_gateways = [gateway for gateway in self.gateways if not GATEWAY_NAME.match(gateway)]
        if not self.gateways or bad_gateways:
            raise PolicyError(
                f"gateway names must match {GATEWAY_NAME.pattern}: {bad_gateways or 'none given'}"
            )
        if self.campaign_id is not None and not _CAMPAIGN_ID.match(self.campaign_id):
            raise PolicyError(f"campaign id may hold letters, digits, _ . - only: {self.campaign_id!r}")

    def new_campaign(self, campaign_id: str, source: str | None) -> NewCampaign:
        window = CallingWindow.parse(self.window) if self.window else None
        start, _, end = str(window).partition("-") if window else (None, None, None)
        return NewCampaign(
            id=campaign_id,
            name=self.name,
            flow=self.flow,
            max_concurrent=self.max_concurrent,
            cps=self.cps,
            window_start=start,
            window_end=end,
            max_attempts=self.retries + 1,
            retry_delay_s=self.retry_delay_s,
            amd_action=self.amd_action,
            gateways=",".join(self.gateways),
            caller_id=self.caller_id,
            source=source,
        )


def new_campaign_id(now: datetime) -> str:
    return f"c{now:%Y%m%d}-{secrets.token_hex(3)}"


def import_campaign(
    store: CampaignStore,
    lines: Iterable[str],
    options: CampaignOptions,
    *,
    now: datetime,
    do_not_call: frozenset[str] = frozenset(),
    source: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[str, ImportResult]:
    """Read the CSV, store the campaign with its contacts and rejected lines; return its id and the report.

    The campaign is stored ``running``; a file with no callable row raises :class:`NoContacts` and
    stores nothing.
    """
    options.check()
    result = read_contacts(
        lines,
        number_column=options.number_column,
        default_region=options.default_region,
        do_not_call=do_not_call,
        on_progress=on_progress,
    )
    if not result.contacts:
        raise NoContacts(source or "the file", result)
    campaign_id = options.campaign_id or new_campaign_id(now)
    store.create_campaign(
        options.new_campaign(campaign_id, source),
        (NewContact(c.line, c.number, c.time_zone, c.variables) for c in result.contacts),
        (NewReject(r.line, r.raw_number, r.reason.value) for r in result.rejected),
        now,
    )
    return campaign_id, result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_results(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Write campaign results as CSV (one row per input line); return the number of rows."""
    writer = csv.DictWriter(out, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        values = {column: _cell(row.get(column)) for column in RESULT_COLUMNS}
        if row.get("variables"):
            values["variables"] = json.dumps(json.loads(str(row["variables"])), ensure_ascii=False)
        writer.writerow(values)
        count += 1
    return count


def export_results(store: CampaignStore, campaign_id: str, path: Path) -> int:
    store.campaign(campaign_id)  # raises for an unknown campaign before a file is created
    with path.open("w", encoding="utf-8", newline="") as out:
        return write_results(store.result_rows(campaign_id), out)
