"""Tables of calls, events and turns for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.table import Table

from app.store import CallLog, CallRow, TurnRow


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def calls_table(rows: Sequence[CallRow]) -> Table:
    table = Table(title=f"{len(rows)} most recent call(s)")
    for column in ("uuid", "dir", "type", "caller", "callee", "state", "started", "billsec", "hangup cause"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.uuid,
            row.direction,
            row.call_type,
            row.caller or "-",
            row.callee or "-",
            row.state,
            _time(row.created_at),
            "-" if row.billsec is None else str(row.billsec),
            row.hangup_cause or "-",
        )
    return table


def print_calls(rows: Sequence[CallRow], console: Console | None = None) -> None:
    (console or Console()).print(calls_table(rows))


def print_call_detail(call_log: CallLog, uuid: str, console: Console | None = None) -> bool:
    """Print one call's record, events and turns; False if there is no such call."""
    out = console or Console()
    call = call_log.get_call(uuid)
    if call is None:
        return False
    out.print(calls_table([call]))
    events = Table(title="events")
    for column in ("#", "time", "event", "detail"):
        events.add_column(column, overflow="fold")
    for event in call_log.events(uuid):
        detail = ", ".join(f"{k}={v}" for k, v in (event.detail or {}).items())
        events.add_row(str(event.seq), event.occurred_at.strftime("%H:%M:%S.%f")[:-3], event.name, detail)
    out.print(events)
    turns = Table(title="turns")
    for column in ("#", "who", "text", "heard ms", "interrupted"):
        turns.add_column(column, overflow="fold")
    for turn in call_log.turns(uuid):
        heard = "-" if turn.heard_ms is None else str(turn.heard_ms)
        turns.add_row(str(turn.seq), turn.speaker, turn.text, heard, "yes" if turn.interrupted else "no")
    out.print(turns)
    out.print(latency_table(call_log.turns(uuid)))
    return True


LATENCY_COLUMNS = (
    ("eou_decided_ms", "end of utterance"),
    ("transcript_ready_ms", "transcript"),
    ("first_text_ms", "first reply text"),
    ("first_audio_ms", "first audio"),
    ("broadcast_sent_ms", "broadcast sent"),
    ("playback_started_ms", "audio started"),
)


def latency_table(turns: Sequence[TurnRow]) -> Table:
    """Per agent turn, ms from the end of the caller's speech (or the answer) to each step."""
    table = Table(title="latency per agent turn (ms after the caller stopped speaking)")
    table.add_column("#")
    table.add_column("trigger")
    for _, title in LATENCY_COLUMNS:
        table.add_column(title, justify="right")
    table.add_column("server", justify="right")
    for turn in turns:
        timings = turn.timings or {}
        if turn.speaker != "agent" or not timings:
            continue
        cells = [str(timings.get(key, "-")) for key, _ in LATENCY_COLUMNS]
        table.add_row(
            str(turn.seq), str(timings.get("trigger", "-")), *cells, str(timings.get("server_ms", "-"))
        )
    return table
