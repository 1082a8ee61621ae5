"""The tables of bench/amd_eval.py: AMD confusion, time to verdict, when the voicemail went out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

HUMAN, MACHINE, NOBODY = "human", "machine", "nobody"
WITHIN_S = 3.0  # the target: correct within 3 s of the answer
SHORT_HUMAN_S = 2.0  # and no human greeting up to 2 s judged a machine
BEEP_GAP_S, BEEP_S = 0.5, 0.4  # conversation_set: the beep starts 0.5 s after the words, lasts 0.4 s


@dataclass
class Outcome:
    """One call: what it was, what the screen decided and when (seconds since the answer)."""

    id: str
    category: str
    truth: str  # human / machine / nobody
    condition: str
    voice: str
    text: str
    greeting_s: float  # first word to last word
    speech_end_s: float
    verdict: str  # human / machine / unknown / none (no decision by the end of the clip)
    reason: str
    verdict_s: float | None
    message_s: float | None  # when the voicemail message would be sent
    beep_s: float | None  # when the stand-in's mod_avmd fired
    heard: list[str] = field(default_factory=list)  # the utterances' text

    @property
    def correct_in_time(self) -> bool:
        return self.verdict == self.truth and self.verdict_s is not None and self.verdict_s <= WITHIN_S


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} % ({part}/{whole})" if whole else "-"


def _p50_p95(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "-"
    p50, p95 = np.percentile(np.array(values) * scale, [50, 95])
    return f"{p50:.{digits}f} / {p95:.{digits}f}"


def _count(outcomes: Iterable[Outcome], verdict: str) -> int:
    return sum(o.verdict == verdict for o in outcomes)


def confusion_row(label: str, outcomes: Sequence[Outcome]) -> str:
    humans = [o for o in outcomes if o.truth == HUMAN]
    machines = [o for o in outcomes if o.truth == MACHINE]
    judged = humans + machines
    short = [o for o in humans if o.greeting_s <= SHORT_HUMAN_S]
    cells = [
        label,
        str(len(humans)),
        *(_pct(_count(humans, v), len(humans)) for v in (HUMAN, MACHINE, "unknown")),
        str(len(machines)),
        *(_pct(_count(machines, v), len(machines)) for v in (MACHINE, HUMAN, "unknown")),
        _pct(sum(o.verdict == o.truth for o in judged), len(judged)),
        _pct(sum(o.correct_in_time for o in judged), len(judged)),
        _pct(_count(short, MACHINE), len(short)),
        _p50_p95([o.verdict_s for o in humans if o.verdict_s is not None]),
        _p50_p95([o.verdict_s for o in machines if o.verdict_s is not None]),
    ]
    return "| " + " | ".join(cells) + " |"


def message_row(label: str, outcomes: Sequence[Outcome]) -> str:
    """Where the message went out, for the machines judged machine."""
    left = [o for o in outcomes if o.truth == MACHINE and o.verdict == MACHINE and o.message_s is not None]
    beeped = [o for o in left if o.category == "voicemail_beep"]
    plain = [o for o in left if o.category != "voicemail_beep"]
    beep_end = {o.id: o.speech_end_s + BEEP_GAP_S + BEEP_S for o in beeped}
    after_beep = [o.message_s - beep_end[o.id] for o in beeped if o.message_s is not None]
    after_words = [o.message_s - o.speech_end_s for o in plain if o.message_s is not None]
    over_greeting = sum(o.message_s is not None and o.message_s < o.speech_end_s for o in left)
    heard = sum(o.beep_s is not None for o in beeped)
    cells = [
        label,
        _pct(heard, len(beeped)),
        _pct(sum(x >= 0 for x in after_beep), len(beeped)),
        _p50_p95(after_beep),
        _pct(sum(x >= 0 for x in after_words), len(plain)),
        _p50_p95(after_words),
        str(over_greeting),
    ]
    return "| " + " | ".join(cells) + " |"


def report(outcomes: Sequence[Outcome]) -> str:
    """Markdown: confusion per condition, noise-only calls, the voicemail's timing, per voice, the misses."""
    conditions = list(dict.fromkeys(o.condition for o in outcomes))
    groups = [(c, [o for o in outcomes if o.condition == c]) for c in conditions] + [("all", list(outcomes))]
    lines = [
        "| condition | humans | → human | → machine | → unknown | machines | → machine | → human | → unknown"
        f" | correct | correct ≤ {WITHIN_S:.0f} s | humans ≤ {SHORT_HUMAN_S:.0f} s → machine"
        " | verdict on humans p50 / p95 s | verdict on machines p50 / p95 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(confusion_row(label, group) for label, group in groups),
    ]
    nobody = [o for o in outcomes if o.truth == NOBODY]
    if nobody:
        verdicts = ", ".join(f"{v} {_count(nobody, v)}" for v in (HUMAN, MACHINE, "unknown", "none"))
        lines += ["", f"Noise only (nobody speaks), {len(nobody)} calls: {verdicts}."]
    lines += [
        "",
        "The voicemail message (machines judged machine), seconds after the beep's end / after the last word:",
        "",
        "| condition | beep heard | message after the beep | s after the beep p50 / p95"
        " | no beep: message after the words | s after the words p50 / p95 | message over the greeting |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(message_row(label, group) for label, group in groups),
    ]
    lines += [
        "",
        "By voice, all conditions:",
        "",
        "| voice | humans → human | machines → machine | correct ≤ 3 s |",
    ]
    lines += ["|---|---:|---:|---:|"]
    for voice in sorted({o.voice for o in outcomes if o.voice}):
        mine = [o for o in outcomes if o.voice == voice]
        humans = [o for o in mine if o.truth == HUMAN]
        machines = [o for o in mine if o.truth == MACHINE]
        lines.append(
            f"| {voice} | {_pct(_count(humans, HUMAN), len(humans))} | "
            f"{_pct(_count(machines, MACHINE), len(machines))} | "
            f"{_pct(sum(o.correct_in_time for o in humans + machines), len(humans + machines))} |"
        )
    misses = [o for o in outcomes if o.verdict != (o.truth if o.truth != NOBODY else "unknown")]
    if misses:
        lines += ["", f"Wrong verdicts ({len(misses)}; --clips lists every call):", ""]
        lines += [f"- {_describe(o)}" for o in misses]
    return "\n".join(lines)


def _describe(o: Outcome) -> str:
    at = f"{o.verdict_s:.2f} s" if o.verdict_s is not None else "never"
    return (
        f"{o.id} [{o.voice}, {o.condition}] {o.truth} {o.greeting_s:.1f} s {o.text!r} -> {o.verdict} at {at}"
        f" ({o.reason}); heard {' | '.join(o.heard) or '-'}"
    )


def clip_lines(outcomes: Sequence[Outcome]) -> str:
    """Every call, one line."""
    return "\n".join(_describe(o) for o in outcomes)
