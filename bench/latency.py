"""Where the server's share of the reply latency goes, stage by stage, one call at a time.

Places single calls (never two at once) through the stand-in FreeSWITCH into the system under test
(``bench/call_server.py``: controller, media worker, Whisper, Piper), alternating SIP and WebRTC, and
breaks every reply to caller speech into the stages its turn stored (``turns.timings``):

- endpoint: caller speech end -> end of utterance decided (the segmenter's silence, on purpose)
- STT: end decided -> transcript at the controller (what the speculative transcript did not hide)
- dialog: transcript -> the agent's first text
- TTS: first text -> the first piece's ``uuid_broadcast`` sent (Piper, WAV, echo reference; the stored
  ``first_audio`` mark is the first piece rendered in any order, so it is not used)
- start: ``uuid_broadcast`` sent -> PLAYBACK_START
- server: end decided -> PLAYBACK_START; v2v: caller speech end -> PLAYBACK_START

plus, from the caller's turns, the worker's own STT wait and whether the speculative transcript was used.

With ``--compare REF`` a second server runs the same tree with the files this latency work owns
(``app/stt``, ``app/tts``, ``app/control/sentences.py``) taken from git ``REF``: calls alternate between
the two servers, so each "after" figure is measured beside its "before" in the same run. Each
``--extra ARGS`` adds a server "after+N" with settings changed (``bench/call_server.py --help``), to measure
a proposal the same way.

    python bench/latency.py --calls 3                 # 3 calls of each type, working tree only
    python bench/latency.py --calls 3 --compare HEAD  # before (HEAD's files) vs after (working tree)
    python bench/latency.py --calls 3 --compare HEAD --extra '--set stt_speculate_ms=100'

With ``--freeswitch PREFIX`` (a build of ``docker/build-freeswitch.sh``) every round also places a SIP call
through that real FreeSWITCH (``sip@freeswitch``: SIPp streaming the same SIP caller's speech as PCMU to
the DID, the repository's dialplan, mod_audio_stream, real PLAYBACK_START), beside the stand-in's ``sip``:

    python bench/latency.py --calls 3 --freeswitch ~/.cache/callbridge/freeswitch/<stamp> \
        --extra '--set playback_command=execute'
"""

from __future__ import annotations

import argparse
import math
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from call_stats import percentile
from callers import CALL_TYPES, SCRIPT, caller_wav
from calls import Server, place, wait_recorded
from procstat import machine
from real_line import RealLine

from app.sim.switch import FakeSwitch
from app.store import CallLog

ROOT = Path(__file__).resolve().parent.parent
OWNED = ("app/stt", "app/tts", "app/control/sentences.py")
# (label, from mark, to mark) in the order they happen; "origin" is the caller's speech end.
STAGES = (
    ("endpoint", "origin", "eou_decided"),
    ("STT", "eou_decided", "transcript_ready"),
    ("dialog", "transcript_ready", "first_text"),
    ("TTS", "first_text", "broadcast_sent"),
    ("start", "broadcast_sent", "playback_started"),
    ("server", "eou_decided", "playback_started"),
    ("v2v", "origin", "playback_started"),
)


@dataclass
class Figures:
    """One server's replies of one call type."""

    stages: dict[str, list[float]] = field(default_factory=dict)
    worker_stt: list[float] = field(default_factory=list)  # the worker's end decided -> text
    speculative: list[bool] = field(default_factory=list)
    replies: int = 0

    def add(self, timings: dict[str, object]) -> None:
        marks = {"origin": 0.0}
        marks.update(
            {k[: -len("_ms")]: float(v) for k, v in timings.items() if k.endswith("_ms") and _number(v)}
        )
        self.replies += 1
        for label, start, end in STAGES:
            if start in marks and end in marks:
                self.stages.setdefault(label, []).append(marks[end] - marks[start])


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def snapshot(ref: str, into: Path) -> Path:
    """A copy of the working tree's ``app`` and ``bench`` with the owned files as they are at ``ref``."""
    for part in ("app", "bench"):
        shutil.copytree(ROOT / part, into / part, ignore=shutil.ignore_patterns("__pycache__"))
    for owned in OWNED:
        target = into / owned
        if target.is_dir():
            shutil.rmtree(target)
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", ref, "--", owned],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        for path in listed:
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            blob = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{ref}:{path}"], check=True, capture_output=True
            ).stdout
            (into / path).write_bytes(blob)
    return into


def gather(call_log: CallLog, uuid: str, figures: Figures) -> None:
    for turn in call_log.turns(uuid):
        timings = dict(turn.timings or {})
        if turn.speaker == "caller":
            stt = timings.get("stt_ms")
            if _number(stt):
                figures.worker_stt.append(float(stt))  # type: ignore[arg-type]
            figures.speculative.append(bool(timings.get("speculative")))
        elif timings.get("trigger") == "utterance":
            figures.add(timings)


REAL_SIP = "sip@freeswitch"


def run(
    servers: dict[str, Server], calls: int, workdir: Path, line: RealLine | None = None
) -> dict[tuple[str, str], Figures]:
    """``calls`` single calls per call type per server, interleaved; figures per (server, call type).

    With ``line``, each round also places the SIP caller through the real FreeSWITCH (``sip@freeswitch``).
    """
    wavs = {t: caller_wav(t, workdir) for t in CALL_TYPES}
    call_types = [*CALL_TYPES, *([REAL_SIP] if line is not None else [])]
    switch = FakeSwitch(password=secrets.token_hex(8))
    switch.start()
    results: dict[tuple[str, str], Figures] = {}
    numbers: Iterator[int] = count()
    logs = {name: CallLog.open(server.database_url) for name, server in servers.items()}
    try:
        for round_ in range(calls):
            for call_type in call_types:
                for name, server in servers.items():
                    limit = len(SCRIPT) * 30 + 60
                    if call_type == REAL_SIP:
                        assert line is not None
                        uuid = line.call(
                            server.controller_port, logs[name], wavs["sip"], limit, next(numbers)
                        )
                        if uuid is None:
                            continue
                    else:
                        call = place(switch, server, call_type, next(numbers), wavs[call_type])
                        if not call.wait_ended(limit):
                            call.hangup("NORMAL_CLEARING")
                            call.wait_ended(10)
                        uuid = call.uuid
                    wait_recorded(logs[name], [uuid])
                    figures = results.setdefault((name, call_type), Figures())
                    gather(logs[name], uuid, figures)
            print(f"round {round_ + 1}/{calls} done", flush=True)
    finally:
        switch.stop()
        for log in logs.values():
            log.close()
    return results


def _cell(row: str, f: Figures) -> tuple[str, float | None]:
    """The text of one cell and its value (None: not a duration, no ratio)."""
    if row == "speculative used":
        return f"{sum(f.speculative)}/{len(f.speculative)}", None
    if row == "replies":
        return str(f.replies), None
    if row == "server p95":
        value = percentile(f.stages.get("server", []), 95)
    elif row == "worker STT":
        value = percentile(f.worker_stt, 50)
    else:
        value = percentile(f.stages.get(row, []), 50)
    return f"{value:.0f}", value


def stage_table(results: dict[tuple[str, str], Figures], names: Sequence[str], call_type: str) -> str:
    """Markdown for one call type: a row per stage, p50 ms per server, and each server's ratio to the first."""
    head = ["stage", *(f"{name} ms" for name in names), *(f"{name}/{names[0]}" for name in names[1:])]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for row in [label for label, _, _ in STAGES] + [
        "server p95",
        "worker STT",
        "speculative used",
        "replies",
    ]:
        cells = [_cell(row, results.get((name, call_type), Figures())) for name in names]
        ratios = []
        for _, value in cells[1:]:
            first = cells[0][1]
            usable = value is not None and first and not math.isnan(value) and not math.isnan(first)
            ratios.append(f"{value / first:.2f}x" if usable else "-")
        lines.append("| " + " | ".join([row, *(text for text, _ in cells), *ratios]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3, help="single calls per call type (per server)")
    parser.add_argument(
        "--compare", metavar="REF", help=f"also run a server with {', '.join(OWNED)} from this git ref"
    )
    parser.add_argument(
        "--extra",
        metavar="ARGS",
        action="append",
        default=[],
        help="also run the working tree with these bench/call_server.py arguments (a server 'after+N' each), "
        "e.g. '--set stt_speculate_ms=100' or '--whisper-short-window 10'",
    )
    parser.add_argument("--stt-threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep logs, audio and databases here")
    parser.add_argument(
        "--freeswitch",
        metavar="PREFIX",
        type=Path,
        help="also call through this real FreeSWITCH build (docker/build-freeswitch.sh's prefix), SIP only",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="callbridge-latency-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; work directory: {workdir}", flush=True)
    roots = {"after" if args.compare else "now": ROOT}
    if args.compare:
        roots = {"before": snapshot(args.compare, workdir / "before-tree"), "after": ROOT}
    extra: dict[str, list[str]] = {}
    for number, arguments in enumerate(args.extra, start=1):
        roots[f"after+{number}"], extra[f"after+{number}"] = ROOT, shlex.split(arguments)
    servers: dict[str, Server] = {}
    line = RealLine(args.freeswitch.expanduser().resolve(), workdir / "real") if args.freeswitch else None
    try:
        if line is not None:
            line.start()
        for name, root in roots.items():
            (workdir / name).mkdir(exist_ok=True)
            database = f"sqlite:///{workdir / name / 'calls.db'}"
            arguments = [*extra.get(name, ()), *(line.esl_settings if line is not None else [])]
            servers[name] = Server(workdir / name, database, args.stt_threads, root=root, extra=arguments)
        results = run(servers, args.calls, workdir, line)
    finally:
        for server in servers.values():
            server.stop()
        if line is not None:
            line.stop()
    for name, arguments in extra.items():
        print(f"{name}: the working tree with bench/call_server.py {' '.join(arguments)}")
    for call_type in [*CALL_TYPES, *([REAL_SIP] if line is not None else [])]:
        print(f"\n{call_type} (p50 of {args.calls} calls, one at a time)\n")
        print(stage_table(results, list(roots), call_type))


if __name__ == "__main__":
    main()
