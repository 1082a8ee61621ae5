"""The chaos bench's table (Markdown, as docs/benchmarks.md holds it) and its verdict on the targets."""

from __future__ import annotations

import statistics

from bench.chaos_tally import SILENCE_TARGET_S, CallTally, ContactTally, FaultRow, RecordTally

KIND_ORDER = ("controller", "worker", "esl_drop", "esl_listener", "postgres")
KIND_LABEL = {
    "controller": "controller SIGKILL + restart",
    "worker": "media worker crash + restart",
    "esl_drop": "ESL connections dropped",
    "esl_listener": "ESL listener down + up",
    "postgres": "PostgreSQL stop + start",
}


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


def fault_table(rows: dict[str, FaultRow]) -> list[str]:
    lines = [
        "| fault | n | calls in progress | survived | dropped | silence p50 / max (s) | "
        f"survived with <= {SILENCE_TARGET_S:.0f} s silence | agent speaks again p50 / max (s) | "
        "campaign's next originate p50 / max (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in sorted(rows, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        row = rows[kind]
        target = "-"
        if row.silences:
            target = f"{row.within_target} ({100 * row.within_target / max(row.in_progress, 1):.0f} %)"
        # The next playback anywhere says the controller is back; after other faults it only says when
        # the next call happened to arrive.
        audio = _spread(row.recover_audio) if kind == "controller" else "-"
        campaign = _spread(row.recover_campaign)
        if row.never_recovered:
            campaign += f" ({row.never_recovered} never)"
        lines.append(
            f"| {KIND_LABEL.get(kind, kind)} | {row.count} | {row.in_progress} | {row.survived} | "
            f"{row.dropped} | {_spread(row.silences)} | {target} | {audio} | {campaign} |"
        )
    return lines


def calls_table(inbound: CallTally, outbound: CallTally) -> list[str]:
    lines = [
        "| calls | placed | answered | whole (not cut) | cut short | never answered | answered, controller down |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, tally in (
        ("inbound (DID, park after socket)", inbound),
        ("campaign (originate into callbridge_outbound)", outbound),
    ):
        lines.append(
            f"| {name} | {tally.placed} | {tally.answered} | {tally.intact} | {tally.cut} | "
            f"{tally.never_answered} | {tally.no_controller} |"
        )
    return lines


def records_table(records: RecordTally, contacts: ContactTally, counts: dict[str, int]) -> list[str]:
    states = ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))
    return [
        "| call records | lost | end never written | duplicated | unknown to the switch |",
        "|---|---:|---:|---:|---:|",
        f"| call log vs stand-in | {len(records.lost)} | {len(records.unended)} | {len(records.duplicated)} |"
        f" {len(records.unknown)} |",
        "",
        "| campaign contacts | contacts | originates | dialled twice (answered twice) | never dialled |"
        " redialled (unanswered, retried) | final states |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| campaign store vs stand-in | {contacts.contacts} | {contacts.originates} |"
        f" {len(contacts.dialled_twice)} | {len(contacts.never_dialled)} | {contacts.redialled} | {states} |",
    ]


def verdicts(rows: dict[str, FaultRow], records: RecordTally, contacts: ContactTally) -> list[str]:
    """One line per target of issue 16: met or missed, with the figure."""
    out = []
    bad_records = len(records.lost) + len(records.unended) + len(records.duplicated)
    out.append(_verdict(bad_records == 0, f"call records lost or duplicated: {bad_records} (target 0)"))
    out.append(
        _verdict(
            not contacts.dialled_twice, f"contacts dialled twice: {len(contacts.dialled_twice)} (target 0)"
        )
    )
    for kind in ("controller", "worker"):
        row = rows.get(kind)
        if row is None or row.in_progress == 0:
            out.append(f"- [ ] {kind}: no call was in progress at any fault; nothing measured")
            continue
        share = 100 * row.within_target / row.in_progress
        out.append(
            _verdict(
                share >= 95,
                f"{KIND_LABEL[kind]}: {share:.0f} % of calls in progress survived with <= "
                f"{SILENCE_TARGET_S:.0f} s of silence (target >= 95 %)",
            )
        )
    listener = rows.get("esl_listener")
    if listener is not None and listener.recover_campaign:
        worst = max(listener.recover_campaign)
        ok = worst <= 10 and listener.never_recovered == 0
        out.append(
            _verdict(
                ok,
                f"campaign resumed {worst:.1f} s (worst) after the ESL listener came back (target <= 10 s)",
            )
        )
    return out


def _verdict(ok: bool, text: str) -> str:
    return f"- [{'x' if ok else ' '}] {'met' if ok else 'MISSED'}: {text}"
