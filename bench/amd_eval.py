"""Answering-machine detection on the conversational set (issue 13): confusion matrix and time to verdict.

Every pick-up and voicemail greeting of bench/conversation_set.py, in every voice, through the set's line
conditions (bench/amd_set.py renders them), is played as one answered outbound call through the live
worker's own pipeline: ``speech_worker_from(settings)`` builds the ``SpeechWorker`` and a
``SpeechListener`` gets 20 ms frames of 8 kHz L16 as mod_audio_stream sends them (after each frame the
runner waits for every thread-pool job, as bench/eval_conversation.py does, so what is heard depends on
audio time only). The beep comes from the stand-in's model of mod_avmd (``app.sim.tone.ToneDetector`` on
the same frames, one beep per call), as ``avmd::beep`` would.

The controller's own screening (``app.control.screening.MachineScreen`` over ``app.control.amd``,
campaign action ``voicemail``) then consumes each call's messages on its audio timeline, ticked 0.2 s
after every input as the call session's timer is. Text messages (``partial``, ``hypothesis``,
``utterance``) reach it ``--stt-delay-ms`` after the worker set out to transcribe, standing for the
decode time (0.8 s: issue 13 measured 750-780 ms mean, 850-900 ms p95 on 2 threads; here the runner
makes decodes instant in audio time, and the utterances come from the speculative decode made during
the trailing silence, whose own ``stt_ms`` is then about 0). What the worker said is kept
(``--json``), so other thresholds can be tried on it without listening again (``--replay``)::

    python bench/amd_eval.py --json /tmp/amd.json   # 3 conditions x every voice, about 7 min on 2 busy cores
    python bench/amd_eval.py --replay /tmp/amd.json --amd max_human_greeting=3.0 --stt-delay-ms 0
    python bench/amd_eval.py --conditions all --clips

Reported per condition: humans judged human / machine / unknown, machines judged machine / human /
unknown, correct within 3 s of the answer, time to verdict p50 / p95, and where the voicemail message
went out (after the beep, or after the end of a greeting without one).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import amd_set  # noqa: E402
import conversation_set as cs  # noqa: E402
from amd_report import Outcome, clip_lines, report  # noqa: E402
from eval_conversation import _Inflight  # noqa: E402

from app.control.amd import AmdAction, AmdConfig, Decision, Next  # noqa: E402
from app.control.screening import TICK_SECONDS, MachineScreen  # noqa: E402

FRAME = 160  # 20 ms at 8 kHz
TEXT_MESSAGES = ("partial", "hypothesis", "utterance")
ANSWERED = datetime(2026, 1, 1, tzinfo=UTC)
AFTER_SPEECH_S = 3.0  # listening past the last word: room for every silence rule, then the call is over
Heard = dict[str, Any]  # {"messages": [[at_s, message], ...], "beep_s": float | None}


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def listen(worker: Any, inflight: _Inflight, clip: cs.ClipInfo, samples: np.ndarray) -> Heard:
    """One clip as one call: the worker's messages (with the audio time they were sent at) and the beep."""
    from app.domain import CallType, parse_call_id  # noqa: PLC0415
    from app.media.wire import StreamMetadata  # noqa: PLC0415
    from app.sim.tone import ToneDetector  # noqa: PLC0415

    fed = [0]
    messages: list[list[Any]] = []
    metadata = StreamMetadata(uuid=parse_call_id(str(uuid.uuid4())), call_type=CallType.SIP, rate=8000)
    listener = worker(metadata, lambda message: messages.append([fed[0] / 8000, message]))
    avmd = ToneDetector(8000)
    beep_s: float | None = None
    stop = len(samples) if not clip.clauses else int(8 * (clip.speech_end_ms + 1000 * AFTER_SPEECH_S))
    for start in range(0, min(stop, len(samples)) - FRAME + 1, FRAME):
        frame = samples[start : start + FRAME]
        fed[0] = start + FRAME
        listener.on_audio(np.frombuffer(frame.astype("<i2").tobytes(), dtype="<i2"))
        inflight.settle()
        if beep_s is None and avmd.feed(frame) is not None:
            beep_s = fed[0] / 8000
    listener.on_end("closed")
    inflight.settle()
    return {"messages": messages, "beep_s": beep_s}


def _at(seconds: float) -> datetime:
    return ANSWERED + timedelta(seconds=seconds)


def screen_call(heard: Heard, config: AmdConfig, stt_delay_s: float) -> tuple[Decision | None, float | None]:
    """The controller's screen over one call: its verdict, and when the voicemail message would go out."""
    screen = MachineScreen(AmdAction.VOICEMAIL, ANSWERED, config)
    screen.stream_connected(ANSWERED)  # audio time 0 is the answer
    inputs: list[tuple[float, int, dict[str, Any] | None]] = []  # (arrival, order, message or the beep)
    for n, (at_s, message) in enumerate(heard["messages"]):
        delay = stt_delay_s if message.get("type") in TEXT_MESSAGES else 0.0
        inputs.append((at_s + delay, n, message))
    if heard["beep_s"] is not None:
        inputs.append((heard["beep_s"], len(inputs), None))
    inputs.sort(key=lambda item: (item[0], item[1]))
    decision: Decision | None = None
    at_s, tick, index = 0.0, TICK_SECONDS, 0
    while index < len(inputs) or at_s < config.max_greeting_wait:
        if index < len(inputs) and inputs[index][0] <= tick:
            at_s, _, message = inputs[index]
            index += 1
            result = screen.beep(_at(at_s)) if message is None else screen.feed(message, _at(at_s))
        else:
            at_s = tick
            result = screen.tick(_at(at_s))
        tick = at_s + TICK_SECONDS  # the session restarts its timer after every input
        if result is None:
            continue
        decision = result.decision or decision
        if result.next is not Next.WAIT_FOR_GREETING_END:
            return decision, at_s if result.next is Next.LEAVE_VOICEMAIL else None
    return decision, None


def outcome(clip: cs.ClipInfo, heard: Heard, config: AmdConfig, stt_delay_s: float) -> Outcome:
    decision, message_s = screen_call(heard, config, stt_delay_s)
    utterances = [m for _, m in heard["messages"] if m.get("type") == "utterance"]
    spans = clip.clauses
    return Outcome(
        id=clip.id,
        category=clip.category,
        truth=amd_set.truth(clip.category),
        condition=clip.condition,
        voice=clip.voice,
        text=clip.text,
        greeting_s=(spans[-1][1] - spans[0][0]) / 1000 if spans else 0.0,
        speech_end_s=clip.speech_end_ms / 1000,
        verdict=decision.verdict.value if decision is not None else "none",
        reason=decision.reason if decision is not None else "",
        verdict_s=round(decision.at, 3) if decision is not None else None,
        message_s=message_s,
        beep_s=heard["beep_s"],
        heard=[str(m.get("text") or "") for m in utterances],
    )


def _tree() -> str:
    """This tree's commit, and whether app/ has changes not committed (the worker is built from them)."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "app"], check=False, capture_output=True, text=True
    )
    return commit.stdout.strip() + (" + uncommitted app/ changes" if dirty.stdout.strip() else "")


def run(set_dir: Path, clips: list[cs.ClipInfo]) -> tuple[dict[str, Heard], dict[str, Any]]:
    """Every clip through one worker built from the settings, as ``serve`` builds it."""
    inflight = _Inflight()
    inflight.install()
    from app.config import load_settings  # noqa: PLC0415
    from app.media.speech_setup import speech_worker_from  # noqa: PLC0415

    began = time.monotonic()
    worker = speech_worker_from(load_settings())
    loaded = time.monotonic() - began
    heard: dict[str, Heard] = {}
    for n, clip in enumerate(clips):
        heard[clip.id] = listen(worker, inflight, clip, _read_wav(set_dir / clip.wav))
        if (n + 1) % 25 == 0:
            print(f"  {n + 1}/{len(clips)} calls", file=sys.stderr, flush=True)
    return heard, {
        "tree": _tree(),
        "load_s": round(loaded, 1),
        "run_s": round(time.monotonic() - began - loaded, 1),
    }


def amd_config(overrides: list[str]) -> AmdConfig:
    """The detector's defaults with ``name=value`` overrides."""
    known = {f.name: f.type for f in fields(AmdConfig)}
    changes: dict[str, Any] = {}
    for item in overrides:
        name, _, value = item.partition("=")
        if name not in known:
            raise SystemExit(f"--amd {item}: AmdConfig has no {name!r} (it has {', '.join(known)})")
        changes[name] = int(value) if known[name] in (int, "int") else float(value)
    return replace(AmdConfig(), **changes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conditions", default="clean,20db+loss5,5db", help="or 'all'; e.g. clean,10db,5db")
    parser.add_argument(
        "--stt-delay-ms", type=float, default=800.0, help="decode time added to text messages"
    )
    parser.add_argument(
        "--amd", action="append", default=[], metavar="NAME=VALUE", help="an AmdConfig override"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cb-conversation-set")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (a quick look)")
    parser.add_argument("--json", type=Path, help="write the clips and what the worker said here")
    parser.add_argument("--replay", type=Path, help="score a --json file again instead of listening")
    parser.add_argument("--clips", action="store_true", help="print every call's verdict too")
    args = parser.parse_args()
    config = amd_config(args.amd)
    if args.replay:
        saved = json.loads(args.replay.read_text())
        clips = [
            cs.ClipInfo(**{**c, "clauses": tuple(tuple(x) for x in c["clauses"])}) for c in saved["clips"]
        ]
        heard, timing, conditions = saved["heard"], saved["timing"], saved["conditions"]
    else:
        conditions = cs.ALL_CONDITIONS if args.conditions == "all" else tuple(args.conditions.split(","))
        began = time.monotonic()
        set_dir, clips = amd_set.build(args.cache, conditions)
        clips = clips[: args.limit] if args.limit else clips
        print(f"set: {len(clips)} clips in {set_dir} ({time.monotonic() - began:.0f} s)", file=sys.stderr)
        heard, timing = run(set_dir, clips)
        if args.json:
            saved = {
                "conditions": conditions,
                "timing": timing,
                "clips": [asdict(c) for c in clips],
                "heard": heard,
            }
            args.json.write_text(json.dumps(saved))
    outcomes = [outcome(clip, heard[clip.id], config, args.stt_delay_ms / 1000) for clip in clips]
    voices = sorted({o.voice for o in outcomes if o.voice})
    changed = ", ".join(args.amd) or "defaults"
    print(
        f"{len(outcomes)} calls ({', '.join(conditions)}; {len(voices)} voices); AmdConfig {changed}; text "
        f"messages arrive {args.stt_delay_ms:.0f} ms after the worker's decision; worker of "
        f"{timing.get('tree', '?')}, listening {timing['run_s']:.0f} s\n"
    )
    print(report(outcomes))
    if args.clips:
        print("\n" + clip_lines(outcomes))


if __name__ == "__main__":
    main()
