"""Concurrent calls through the whole system, each caller speaking real speech in real time.

The stand-in FreeSWITCH (``app/sim``) runs here and places the calls; the system under test (controller,
media worker with Silero VAD and Whisper STT, Piper TTS, call log) runs in a child process
(``bench/call_server.py``) so its CPU and memory are measured apart. Callers alternate between SIP
(8 kHz G.711 speech) and WebRTC (wideband). A batch of N runs N caller slots, started evenly over about
one call's length (``--ramp``) so the callers' turns do not fall in lockstep, each placing calls back to
back for ``--hold`` more seconds: N calls in progress in the steady state. Every batch is compared with
a baseline measured in the same run: one call at a time, of each type.

Reported per batch and call type, from the turns' stored latency breakdown (``turns.timings``):
voice-to-voice p50/p95 (caller speech end -> agent audio starts), the server's part of it (end of
utterance decided -> agent audio starts), processing p95 (voice to voice minus the endpoint silence the
segmenter waits on purpose), CPU % of a core per call in progress, RSS per added call, whether the batch
held real time (every caller turn answered, processing p95 < 300 ms), and ratios to the baseline.

    python bench/calls.py --calls 50
    python bench/calls.py --sweep 1,10,25,50,100

With ``--freeswitch PREFIX`` (a build of ``docker/build-freeswitch.sh``) the callers are SIPp through that
real FreeSWITCH instead (SIP only: ``sip@freeswitch``, the SIP caller's speech as PCMU to the DID, the
repository's dialplan and mod_audio_stream); FreeSWITCH's own CPU is reported beside the server's.

    python bench/calls.py --sweep 1,5,10 --freeswitch ~/.cache/callbridge/freeswitch/<stamp>
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from itertools import count
from pathlib import Path

import gevent
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from call_stats import Batch, TypeFigures, load_table, table, turn_figures
from callers import CALL_TYPES, SCRIPT, caller_wav
from procstat import cpu_seconds, machine, rss_bytes
from real_line import RealLine

from app.sim.switch import FakeSwitch, SimCall
from app.store import CallLog

HERE = Path(__file__).resolve().parent
REAL_SIP = "sip@freeswitch"
NAMES = ("Alex", "Maria", "Sam", "Priya", "Tom", "Lena", "Omar", "Grace", "Ivan", "Chen")
SURNAMES = ("Smith", "Garcia", "Jones", "Kim", "Brown", "Patel", "Lopez", "Wilson", "Nguyen", "Clark")


class Server:
    """The system under test in its own process."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        stt_threads: int,
        root: Path = HERE.parent,
        extra: Sequence[str] = (),
    ) -> None:
        """Start ``root``'s ``bench/call_server.py`` (``root``: a copy of the tree, to compare versions)
        with ``extra`` arguments (see its ``--help``)."""
        self.database_url = database_url
        command = [
            sys.executable,
            str(root / "bench" / "call_server.py"),
            f"--database-url={database_url}",
            f"--spool={workdir / 'spool'}",
            f"--flow={root / 'bench' / 'data' / 'bench_flow.yaml'}",
            f"--log={workdir / 'server.log'}",
            f"--stt-threads={stt_threads}",
            *extra,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the server did not start: see {workdir / 'server.log'}")
        ready = json.loads(line)
        self.controller_port: int = ready["controller_port"]
        self.metrics_port: int = ready["metrics_port"]
        self.silence_ms: dict[str, float] = ready["silence_ms"]
        self.pid = self.process.pid

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


STAGE_SUMS = {
    "VAD": "callbridge_vad_batch_seconds_sum",
    "STT": "callbridge_stt_seconds_sum",
    "TTS": "callbridge_tts_render_seconds_sum",
}


def stage_seconds(server: Server) -> dict[str, float]:
    """Total seconds the server spent in VAD batches, STT and TTS so far (from its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    totals = dict.fromkeys(STAGE_SUMS, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for stage, name in STAGE_SUMS.items():
                if sample.name == name:
                    totals[stage] += sample.value
    return totals


def place(switch: FakeSwitch, server: Server, call_type: str, number: int, wav: Path) -> SimCall:
    _, channel_rate = CALL_TYPES[call_type]
    name = f"{NAMES[number % 10]} {SURNAMES[(number // 10) % 10]}"
    return switch.place_call(
        destination="+15557654321",
        caller_id_number=f"+1555{2000000 + number}",
        socket=f"127.0.0.1:{server.controller_port} async full",
        variables={"call_type": call_type, "cb_var_name": name},
        caller_audio=wav,
        rate=channel_rate,
    )


def run_batch(
    switch: FakeSwitch,
    server: Server,
    call_log: CallLog,
    types: list[str],
    wavs: dict[str, Path],
    ramp_s: float,
    hold_s: float,
    numbers: Iterator[int],
    line: RealLine | None = None,
) -> Batch:
    """Run ``len(types)`` caller slots, started evenly over ``ramp_s`` seconds; each slot places calls back
    to back until ``ramp_s + hold_s`` have passed (at least one call), then the figures are gathered.
    """
    spans: dict[str, tuple[str, float, float]] = {}
    rss_before = rss_bytes(server.pid)
    peak = [rss_before]
    cpu_before, driver_before, started = cpu_seconds(server.pid), time.process_time(), time.monotonic()
    stages_before = stage_seconds(server)

    def slot(index: int, call_type: str) -> None:
        gevent.sleep(ramp_s * index / max(len(types), 1))
        while True:
            placed = time.monotonic()
            uuid = place_and_wait(switch, server, call_log, call_type, next(numbers), wavs, line)
            if uuid is not None:
                spans[uuid] = (call_type, placed, time.monotonic())
            if time.monotonic() >= started + ramp_s + hold_s:
                return

    def watch_memory() -> None:
        while True:
            peak[0] = max(peak[0], rss_bytes(server.pid))
            gevent.sleep(0.25)

    watcher = gevent.spawn(watch_memory)
    gevent.joinall([gevent.spawn(slot, i, t) for i, t in enumerate(types)])
    watcher.kill()
    wait_recorded(call_log, list(spans))
    wall = time.monotonic() - started
    stages = {k: v - stages_before[k] for k, v in stage_seconds(server).items()}
    by_type: dict[str, TypeFigures] = {}
    for uuid, (call_type, _, _) in spans.items():
        figures = by_type.setdefault(call_type, TypeFigures())
        figures.calls += 1
        replies = 0
        for turn in call_log.turns(uuid):
            measured = turn_figures(turn.timings or {}, server.silence_ms[call_type.split("@")[0]])
            if turn.speaker == "agent" and measured is not None:
                replies += 1
                figures.voice_to_voice.append(measured[0])
                figures.server.append(measured[1])
                figures.processing.append(measured[2])
        figures.complete += replies >= len(SCRIPT)
    return Batch(
        concurrency=len(types),
        wall_s=wall,
        call_s=sum(end - begin for _, begin, end in spans.values()),
        server_cpu_s=cpu_seconds(server.pid) - cpu_before,
        rss_before=rss_before,
        rss_peak=peak[0],
        driver_cpu_s=time.process_time() - driver_before,
        by_type=by_type,
        stage_s=stages,
    )


def place_and_wait(
    switch: FakeSwitch,
    server: Server,
    call_log: CallLog,
    call_type: str,
    number: int,
    wavs: dict[str, Path],
    line: RealLine | None,
) -> str | None:
    """One call of ``call_type`` (``sip@freeswitch``: through ``line``), waited for to its end; its uuid."""
    limit = len(SCRIPT) * 30 + 60
    if call_type == REAL_SIP:
        assert line is not None
        return line.call(server.controller_port, call_log, wavs["sip"], limit, number)
    call = place(switch, server, call_type, number, wavs[call_type])
    if not call.wait_ended(limit):
        print(f"call {call.uuid} did not end; hanging up", file=sys.stderr)
        call.hangup("NORMAL_CLEARING")
        call.wait_ended(10)
    return call.uuid


def wait_recorded(call_log: CallLog, uuids: list[str], timeout: float = 30.0) -> None:
    """Wait until the server has written each call's end (its turns are then complete)."""
    deadline = time.monotonic() + timeout
    for uuid in uuids:
        while time.monotonic() < deadline:
            row = call_log.get_call(uuid)
            if row is not None and row.ended_at is not None:
                break
            gevent.sleep(0.2)


def merge(batches: list[Batch]) -> Batch:
    """Sequential single-call batches as one baseline."""
    by_type: dict[str, TypeFigures] = {}
    for batch in batches:
        for call_type, f in batch.by_type.items():
            into = by_type.setdefault(call_type, TypeFigures())
            into.calls += f.calls
            into.complete += f.complete
            into.voice_to_voice += f.voice_to_voice
            into.server += f.server
            into.processing += f.processing
    return Batch(
        concurrency=1,
        wall_s=sum(b.wall_s for b in batches),
        call_s=sum(b.call_s for b in batches),
        server_cpu_s=sum(b.server_cpu_s for b in batches),
        rss_before=min(b.rss_before for b in batches),
        rss_peak=max(b.rss_peak for b in batches),
        driver_cpu_s=sum(b.driver_cpu_s for b in batches),
        by_type=by_type,
        stage_s={k: sum(b.stage_s.get(k, 0.0) for b in batches) for k in STAGE_SUMS},
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10, help="concurrent calls (after the baseline)")
    parser.add_argument("--sweep", help="comma-separated concurrencies, e.g. 1,10,25,50,100")
    parser.add_argument(
        "--ramp", type=float, default=20.0, help="seconds over which a batch's caller slots start (~a call)"
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=20.0,
        help="seconds the slots keep calling after the ramp (steady state)",
    )
    parser.add_argument("--baseline-calls", type=int, default=2, help="single calls per type in the baseline")
    parser.add_argument("--database-url", help="call log (default: SQLite in the work directory)")
    parser.add_argument("--stt-threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep logs and audio here (default: a temp dir)")
    parser.add_argument(
        "--freeswitch",
        metavar="PREFIX",
        type=Path,
        help="call through this real FreeSWITCH build (docker/build-freeswitch.sh's prefix) with SIPp, SIP only",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    levels = [int(n) for n in args.sweep.split(",")] if args.sweep else [args.calls]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="callbridge-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url or f"sqlite:///{workdir / 'calls.db'}"
    print(f"machine: {machine()}; work directory: {workdir}", flush=True)
    wavs = {t: caller_wav(t, workdir) for t in CALL_TYPES}
    line = RealLine(args.freeswitch.expanduser().resolve(), workdir / "real") if args.freeswitch else None
    if line is not None:
        line.start()
    server = Server(workdir, database_url, args.stt_threads, extra=line.esl_settings if line else ())
    switch = FakeSwitch(password=secrets.token_hex(8))
    switch.start()
    call_log = CallLog.open(database_url)
    call_types = [REAL_SIP] if line is not None else list(CALL_TYPES)
    switch_cpu_before = cpu_seconds(line.switch_pid()) if line is not None else 0.0
    try:
        numbers = count()
        singles = []
        for _ in range(args.baseline_calls):
            for call_type in call_types:
                singles.append(
                    run_batch(switch, server, call_log, [call_type], wavs, 0.0, 0.0, numbers, line)
                )
        baseline = merge(singles)
        print(f"baseline: {len(singles)} single calls done", flush=True)
        batches = []
        for n in levels:
            types = [call_types[i % len(call_types)] for i in range(n)]
            batches.append(
                run_batch(switch, server, call_log, types, wavs, args.ramp, args.hold, numbers, line)
            )
            print(
                f"{n} concurrent callers: {batches[-1].calls} calls in {batches[-1].wall_s:.0f} s", flush=True
            )
        if line is not None:
            switch_cpu = cpu_seconds(line.switch_pid()) - switch_cpu_before
            busy = sum(b.wall_s for b in [*singles, *batches])
            print(f"FreeSWITCH itself: {switch_cpu:.1f} CPU s over {busy:.0f} s of calls", flush=True)
    finally:
        switch.stop()
        server.stop()
        call_log.close()
        if line is not None:
            line.stop()
    print()
    print(table([baseline, *batches], baseline))
    print()
    print(load_table([baseline, *batches]))
    holding = [b.concurrency for b in batches if b.holds_real_time()]
    answered = [b.concurrency for b in batches if all(f.complete == f.calls for f in b.by_type.values())]
    print(
        f"\nlargest N holding real time (p95 processing < 300 ms, every turn answered): {max(holding, default=0)}"
    )
    print(f"largest N with every caller turn answered: {max(answered, default=0)}")


if __name__ == "__main__":
    main()
