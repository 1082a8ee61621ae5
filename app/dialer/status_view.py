"""``callbridge campaign status``: campaigns as a table for people or as JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from app.store.campaign_records import CampaignRow


def status_records(rows: Iterable[tuple[CampaignRow, Mapping[str, int]]]) -> list[dict[str, Any]]:
    """One plain mapping per campaign: its settings, status and contacts per state."""
    records = []
    for row, counts in rows:
        contacts = sum(v for k, v in counts.items() if not k.startswith("rejected:"))
        records.append(
            {
                "id": row.id,
                "name": row.name,
                "status": row.status,
                "flow": row.flow,
                "source": row.source,
                "created_at": row.created_at.isoformat(),
                "finished_at": row.finished_at.isoformat() if row.finished_at else None,
                "contacts": contacts,
                "remaining": sum(
                    v for k, v in counts.items() if not k.startswith(("done:", "rejected:"))
                ),
                "counts": dict(sorted(counts.items())),
            }
        )
    return records


def print_json(records: list[dict[str, Any]], out: Any) -> None:
    """Write ``records`` as a JSON array to the text stream ``out``."""
    out.write(json.dumps(records, indent=2) + "\n")


def print_table(records: list[dict[str, Any]], console: Console) -> None:
    """The campaigns as a table; identifiers never wrap, the other columns fold when space is short."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("id", no_wrap=True, min_width=len("id"))
    table.add_column("status", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("left", justify="right", no_wrap=True)
    table.add_column("contacts per state", overflow="fold")
    for record in records:
        shown = ", ".join(f"{name}={count}" for name, count in record["counts"].items())
        table.add_row(
            record["id"],
            record["status"],
            record["name"],
            f"{record['remaining']}/{record['contacts']}",
            shown,
        )
    if not records:
        console.print("no campaigns yet (start one with: callbridge campaign run FILE.csv)")
        return
    console.print(table)
