"""How fast the agent stops when a caller talks over it, and whether its own echo ever stops it.

Runs whole calls against the FreeSWITCH stand-in in this process (controller, media worker with Silero
VAD and Whisper, Piper, SQLite): the agent reads a long greeting; the caller (Piper voices) starts talking
at a varied moment, over a clean line or one that echoes the agent back at -10 dB, 60 ms late. The stop
is measured on the call's time-aligned stereo recording: caller speech onset -> the agent's audio falls
silent. Two modes, in the same run and process:

- ``pause``: the shipped behaviour (speech onset -> ``uuid_fileman pause`` -> ``uuid_break`` or resume);
- ``baseline``: ``CALLBRIDGE_BARGE_IN_PAUSE=false``, the agent plays on until the speech is confirmed
  (``vad_echo_min_speech_ms``) and is then cut with ``uuid_break``.

Also reported: calls with a silent caller over the echoing line (any pause or barge-in there is the echo
getting through), and backchannels ("Okay.", "Yeah."): the agent must finish its greeting.

    python bench/barge_in.py --runs 4
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings, load_settings
from app.sim.switch import FakeSwitch, LineEcho
from app.sim.timeline import read_recording, silent_from
from app.store import upgrade
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack

FLOW = Path(__file__).resolve().parent / "data" / "long_greeting.yaml"
RATE = 8000
ECHO = LineEcho(gain_db=-10, delay_ms=60)
INTERRUPTIONS = (
    "Sorry to interrupt, I want to book an appointment for tomorrow.",
    "Wait, I need to change my booking.",
    "Hello? Can I speak to a person please?",
    "No, that is not why I am calling.",
)
BACKCHANNELS = ("Okay.", "Yeah.")


@dataclass
class Outcome:
    mode: str
    line: str
    kind: str
    stop_ms: float | None
    paused: int
    barged: bool
    interrupted: bool


def settings_for(workdir: Path, pause: bool) -> Settings:
    base = load_settings(
        {
            "CALLBRIDGE_DATABASE_URL": f"sqlite:///{workdir / 'calls.db'}",
            "CALLBRIDGE_SPOOL_DIR": str(workdir / "spool"),
            "CALLBRIDGE_FLOW": str(FLOW),
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "2",
            "CALLBRIDGE_MAX_NO_INPUT": "1",
            "CALLBRIDGE_BARGE_IN_PAUSE": "true" if pause else "false",
        }
    )
    return base.model_copy(update={"controller_port": 0, "media_port": 0})


def caller_audio(tts: PiperTTS, text: str | None, at_s: float, path: Path) -> int | None:
    """Silence, then ``text`` at ``at_s``; returns the sample where the speech starts."""
    silence = np.zeros(int(at_s * RATE), np.int16)
    parts, onset = [silence], None
    if text is not None:
        speech = tts.synthesize(text).resampled(RATE).samples
        onset = len(silence) + int(np.argmax(np.abs(speech) > 500))
        parts.append(speech)
    parts.append(np.zeros(20 * RATE, np.int16))
    write_wav(path, Audio(np.concatenate(parts), RATE))
    return onset


def one_call(
    stack: Stack, switch: FakeSwitch, wav: Path, onset: int | None, echo: LineEcho | None
) -> tuple[float | None, int, bool, bool]:
    call = switch.place_call(
        destination="+15557654321",
        socket=f"127.0.0.1:{stack.controller_port} async full",
        variables={"call_type": "sip"},
        caller_audio=wav,
        rate=RATE,
        line_echo=echo,
    )
    if not call.wait_ended(90):
        call.hangup("NORMAL_CLEARING")
        call.wait_ended(10)
    stack.controller_finished(call.uuid, timeout=10)
    names = [e.name for e in stack.call_log.events(call.uuid)]
    turns = stack.call_log.turns(call.uuid)
    interrupted = bool(turns) and turns[0].interrupted
    stop_ms = None
    if onset is not None and call.recording_path is not None:
        stopped = silent_from(read_recording(call.recording_path).agent, onset, RATE)
        stop_ms = None if stopped is None else (stopped - onset) * 1000 / RATE
    return stop_ms, names.count("playback_paused"), "barge_in" in names, interrupted


def run_mode(mode: str, runs: int, tts: PiperTTS, workdir: Path) -> list[Outcome]:
    (workdir / mode).mkdir(parents=True, exist_ok=True)
    settings = settings_for(workdir / mode, pause=mode == "pause")
    upgrade(settings.database_url)
    stack = Stack.build(settings)
    switch = FakeSwitch(password=secrets.token_hex(8), recordings_dir=workdir / mode)
    switch.start()
    stack.start(advertise_bound_media=True)
    outcomes: list[Outcome] = []
    try:
        for run in range(runs):
            for echo in (None, ECHO):
                line = "clean" if echo is None else "echo -10 dB"
                plans = [("interruption", INTERRUPTIONS[run % len(INTERRUPTIONS)], 2.5 + 0.37 * run)]
                if echo is not None:
                    plans.append(("silent caller", None, 3.0))
                    plans.append(("backchannel", BACKCHANNELS[run % len(BACKCHANNELS)], 3.2 + 0.41 * run))
                for kind, text, at_s in plans:
                    wav = workdir / mode / f"caller-{run}-{len(outcomes)}.wav"
                    onset = caller_audio(tts, text, at_s, wav)
                    stop_ms, paused, barged, interrupted = one_call(stack, switch, wav, onset, echo)
                    outcome = Outcome(mode, line, kind, stop_ms, paused, barged, interrupted)
                    outcomes.append(outcome)
                    print(
                        f"  {mode:8} {line:12} {kind:13} stop {stop_ms} ms, pauses {paused}, barge-in {barged}"
                    )
    finally:
        stack.stop()
        switch.stop()
    return outcomes


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(outcomes: list[Outcome]) -> str:
    lines = [
        "| mode | line | interruptions | stop p50 ms | stop p95 ms | stop max ms | within 300 ms | p50 vs baseline |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    baseline_p50: dict[str, float] = {}
    for mode in ("baseline", "pause"):
        for line in ("clean", "echo -10 dB"):
            stops = [
                o.stop_ms
                for o in outcomes
                if o.mode == mode and o.line == line and o.kind == "interruption" and o.stop_ms is not None
            ]
            p50 = percentile(stops, 50)
            if mode == "baseline":
                baseline_p50[line] = p50
            within = sum(s <= 300 for s in stops)
            ratio = p50 / baseline_p50[line] if baseline_p50.get(line) else float("nan")
            lines.append(
                f"| {mode} | {line} | {len(stops)} | {p50:.0f} | {percentile(stops, 95):.0f} |"
                f" {max(stops, default=float('nan')):.0f} | {within}/{len(stops)} | {ratio:.2f}x |"
            )
    lines += [
        "",
        "| mode | case | calls | calls with a pause | calls with a barge-in | greeting cut |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for mode in ("baseline", "pause"):
        for kind in ("silent caller", "backchannel"):
            group = [o for o in outcomes if o.mode == mode and o.kind == kind]
            lines.append(
                f"| {mode} | {kind} (echo -10 dB) | {len(group)} | {sum(o.paused > 0 for o in group)} |"
                f" {sum(o.barged for o in group)} | {sum(o.interrupted for o in group)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="interruptions per mode and line (default 4)")
    args = parser.parse_args()
    tts = PiperTTS()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="barge-bench-") as tmp:
        outcomes = []
        for mode in ("baseline", "pause"):
            print(f"{mode}: {args.runs} run(s)")
            outcomes += run_mode(mode, args.runs, tts, Path(tmp))
    print()
    print(report(outcomes))
    stops = [
        o.stop_ms
        for o in outcomes
        if o.mode == "pause" and o.stop_ms is not None and o.kind == "interruption"
    ]
    print(
        f"\n{len(outcomes)} calls in {time.monotonic() - started:.0f} s; pause-mode stop mean {statistics.fmean(stops):.0f} ms"
    )


if __name__ == "__main__":
    main()
