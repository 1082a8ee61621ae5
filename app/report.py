"""Tables of calls, events and turns for the terminal, and the same data as JSON for scripts.

Tables never split an identifier: uuids, numbers and times do not wrap, free text folds, and columns of
the calls table that do not fit the terminal are left out (the JSON has them all).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from app.store import CallLog, CallRow, EventRow, TurnRow

PLAYBACK_EVENTS = frozenset({"PLAYBACK_START", "PLAYBACK_STOP"})


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class _Column:
    header: str
    cell: Callable[[CallRow], str]
    priority: int  # lower: kept longer when the terminal is narrow
    no_wrap: bool = True


CALL_COLUMNS = (
    _Column("uuid", lambda r: r.uuid, 0),
    _Column("dir", lambda r: r.direction, 3),
    _Column("type", lambda r: r.call_type, 7),
    _Column("caller", lambda r: r.caller or "-", 2),
    _Column("callee", lambda r: r.callee or "-", 5),
    _Column("state", lambda r: r.state, 1),
    _Column("started", lambda r: _time(r.created_at), 4, no_wrap=False),
    _Column("billsec", lambda r: "-" if r.billsec is None else str(r.billsec), 6),
    _Column("hangup cause", lambda r: r.hangup_cause or "-", 5, no_wrap=False),
)


def _needed_width(columns: Sequence[_Column], rows: Sequence[CallRow]) -> int:
    """Width of the table with no identifier split: no_wrap cells whole, others at their longest word."""
    total = 1
    for column in columns:
        texts = [column.header, *(column.cell(row) for row in rows)]
        words = texts if column.no_wrap else [word for text in texts for word in text.split()]
        total += max(len(word) for word in words) + 3
    return total


def calls_table(rows: Sequence[CallRow], width: int | None = None) -> Table:
    """The calls as a table; with ``width``, the least useful columns are left out until the rest fit."""
    columns = list(CALL_COLUMNS)
    while width is not None and len(columns) > 1 and _needed_width(columns, rows) > width:
        columns.remove(max(columns, key=lambda c: c.priority))
    hidden = len(CALL_COLUMNS) - len(columns)
    title = f"{len(rows)} most recent call(s)"
    table = Table(title=title, caption=f"{hidden} column(s) hidden: wider terminal or --json" if hidden else None)
    for column in columns:
        table.add_column(column.header, no_wrap=column.no_wrap, overflow="fold")
    for row in rows:
        table.add_row(*(column.cell(row) for column in columns))
    return table


def print_calls(rows: Sequence[CallRow], console: Console | None = None) -> None:
    out = console or Console()
    out.print(calls_table(rows, out.width))


def _detail_text(detail: Mapping[str, object] | None) -> str:
    """``k=v`` pairs; file paths shortened to the file name (the spool directory is always the same)."""
    parts = []
    for key, value in (detail or {}).items():
        shown = PurePath(value).name if key == "file" and isinstance(value, str) else value
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def event_rows(events: Sequence[EventRow]) -> list[tuple[str, str, str, str]]:
    """Rows of the events table: runs of PLAYBACK_START/STOP fold into one row that counts them."""
    rows: list[tuple[str, str, str, str]] = []
    run: list[EventRow] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            rows.append(_event_row(run[0]))
        else:
            statuses: dict[str, int] = {}
            for event in run:
                if event.name == "PLAYBACK_STOP":
                    status = str((event.detail or {}).get("status", "?"))
                    statuses[status] = statuses.get(status, 0) + 1
            stops = ", ".join(f"{n} {status}" for status, n in statuses.items())
            starts = sum(1 for event in run if event.name == "PLAYBACK_START")
            rows.append(
                (
                    f"{run[0].seq}-{run[-1].seq}",
                    run[0].occurred_at.strftime("%H:%M:%S.%f")[:-3],
                    "PLAYBACK_START/STOP",
                    f"{starts} played; {stops or 'none stopped'}",
                )
            )
        run.clear()

    for event in events:
        if event.name in PLAYBACK_EVENTS:
            run.append(event)
            continue
        flush()
        rows.append(_event_row(event))
    flush()
    return rows


def _event_row(event: EventRow) -> tuple[str, str, str, str]:
    return (str(event.seq), event.occurred_at.strftime("%H:%M:%S.%f")[:-3], event.name, _detail_text(event.detail))


def print_call_detail(call_log: CallLog, uuid: str, console: Console | None = None) -> bool:
    """Print one call's record, events and turns; False if there is no such call."""
    out = console or Console()
    call = call_log.get_call(uuid)
    if call is None:
        return False
    out.print(calls_table([call], out.width))
    events = Table(title="events")
    events.add_column("#", no_wrap=True)
    events.add_column("time", no_wrap=True)
    events.add_column("event", no_wrap=True)
    events.add_column("detail", overflow="fold")
    for row in event_rows(call_log.events(uuid)):
        events.add_row(*row)
    out.print(events)
    turns = Table(title="turns")
    for column in ("#", "who"):
        turns.add_column(column, no_wrap=True)
    turns.add_column("text", overflow="fold")
    turns.add_column("heard ms", no_wrap=True)
    turns.add_column("cut", no_wrap=True)
    for turn in call_log.turns(uuid):
        heard = "-" if turn.heard_ms is None else str(turn.heard_ms)
        turns.add_row(str(turn.seq), turn.speaker, turn.text, heard, "yes" if turn.interrupted else "no")
    out.print(turns)
    out.print(latency_table(call_log.turns(uuid)))
    return True


LATENCY_COLUMNS = (
    ("eou_decided_ms", "end"),
    ("transcript_ready_ms", "text in"),
    ("first_text_ms", "reply"),
    ("first_audio_ms", "audio"),
    ("broadcast_sent_ms", "sent"),
    ("playback_started_ms", "playing"),
)


def latency_table(turns: Sequence[TurnRow]) -> Table:
    """Per agent turn, ms from the end of the caller's speech (or the answer) to each step."""
    table = Table(
        title="latency per agent turn (ms after the caller stopped speaking)",
        caption="end: end of utterance decided; text in: transcript; reply: first reply text;"
        " audio: first audio rendered; sent: playback sent; playing: audio started",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("#", no_wrap=True)
    table.add_column("trigger", overflow="ellipsis", no_wrap=True, max_width=12)
    for _, title in LATENCY_COLUMNS:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("server", justify="right", no_wrap=True)
    for turn in turns:
        timings = turn.timings or {}
        if turn.speaker != "agent" or not timings:
            continue
        cells = [str(timings.get(key, "-")) for key, _ in LATENCY_COLUMNS]
        table.add_row(
            str(turn.seq), str(timings.get("trigger", "-")), *cells, str(timings.get("server_ms", "-"))
        )
    return table


def call_dict(row: CallRow) -> dict[str, Any]:
    """One call as JSON-ready data; the keys are stable (scripts rely on them)."""
    return {
        "uuid": row.uuid,
        "direction": row.direction,
        "call_type": row.call_type,
        "caller": row.caller,
        "callee": row.callee,
        "gateway": row.gateway,
        "campaign_ref": row.campaign_ref,
        "state": row.state,
        "created_at": _iso(row.created_at),
        "answered_at": _iso(row.answered_at),
        "ended_at": _iso(row.ended_at),
        "hangup_cause": row.hangup_cause,
        "billsec": row.billsec,
        "duration": row.duration,
    }


def calls_json(rows: Sequence[CallRow]) -> str:
    """``{"calls": [...]}``, most recent first."""
    return json.dumps({"calls": [call_dict(row) for row in rows]}, indent=2)


def call_detail_json(call_log: CallLog, uuid: str) -> str | None:
    """``{"call": ..., "events": [...], "turns": [...]}`` for one call; None if there is no such call."""
    call = call_log.get_call(uuid)
    if call is None:
        return None
    events = [
        {"seq": e.seq, "name": e.name, "occurred_at": _iso(e.occurred_at), "detail": dict(e.detail or {})}
        for e in call_log.events(uuid)
    ]
    turns = [
        {
            "seq": t.seq,
            "speaker": t.speaker,
            "text": t.text,
            "started_at": _iso(t.started_at),
            "ended_at": _iso(t.ended_at),
            "interrupted": t.interrupted,
            "heard_ms": t.heard_ms,
            "timings": dict(t.timings or {}),
        }
        for t in call_log.turns(uuid)
    ]
    return json.dumps({"call": call_dict(call), "events": events, "turns": turns}, indent=2, default=str)
