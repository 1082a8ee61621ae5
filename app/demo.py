"""``callbridge demo``: one call through the whole stack against the FreeSWITCH stand-in, on embedded defaults."""

from __future__ import annotations

import logging
import secrets
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from app.config import Settings
from app.dialog.factory import DialogBrain
from app.media.speechset import speech_span
from app.report import print_call_detail
from app.sim.switch import FakeSwitch, LineEcho
from app.store import upgrade
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS
from app.wiring import Stack

log = logging.getLogger(__name__)

CALLER_NUMBER = "+15551230000"
DID = "+15557654321"


@dataclass(frozen=True)
class DemoResult:
    uuid: str
    ended: bool
    recording: Path | None
    greeting_heard_ms: int
    caller_streamed_s: float


Clause = str | int
"""Words to say, or a pause in milliseconds."""
Line = str | tuple[Clause, ...]

# What the demo caller says and when (seconds after the answer), timed to the booking flow's prompts.
# The first answer pauses for most of a second after "for", as people do while they think: the agent
# must wait for the rest of the sentence instead of answering "an appointment for".
CALLER_SCRIPT: tuple[tuple[float, Line], ...] = (
    (7.5, ("I would like to book an appointment for", 900, "tomorrow morning, please.")),
    (20.5, "Yes, please."),
    (27.0, "John Smith."),
)


def _render_line(voice: PiperTTS, line: Line, rate: int) -> np.ndarray:
    """One line of the script at ``rate``.

    A line with pauses is spoken as one sentence, so the voice carries on through them as a person's
    does (a clause synthesised alone ends on a falling, final pitch, which no listener, and no
    end-of-turn model, takes for a pause); each pause is then opened at the quietest point near where the
    words before it end (their own rendering's length) and is exactly as long as the script says.
    """
    if isinstance(line, str):
        return voice.synthesize(line).resampled(rate).samples
    words = [clause for clause in line if isinstance(clause, str)]
    whole = voice.synthesize(" ".join(words)).resampled(rate).samples
    start, end = speech_span(whole, rate)
    whole = whole[start:end]
    parts, cut, said = [], 0, ""
    for clause in line:
        if isinstance(clause, str):
            said = f"{said} {clause}".strip()
            continue
        prefix = voice.synthesize(said).resampled(rate).samples
        first, last = speech_span(prefix, rate)
        split = _quietest_point(whole, cut, last - first, rate)
        parts += [whole[cut:split], np.zeros(clause * rate // 1000, dtype=np.int16)]
        cut = split
    parts.append(whole[cut:])
    return np.concatenate(parts)


def _quietest_point(samples: np.ndarray, after: int, near: int, rate: int, search_ms: int = 200) -> int:
    """The start of the quietest 10 ms frame within ``search_ms`` of sample ``near`` (and after ``after``)."""
    frame = rate // 100
    low, high = (
        max(after + frame, near - search_ms * rate // 1000),
        min(len(samples) - frame, near + search_ms * rate // 1000),
    )
    if high <= low:
        return max(after, min(near, len(samples)))
    starts = np.arange(low, high, frame // 2)
    energy = [float(np.mean(samples[s : s + frame].astype(np.float64) ** 2)) for s in starts]
    return int(starts[int(np.argmin(energy))])


def make_caller_wav(
    script: tuple[tuple[float, Line], ...], path: Path, rate: int = 8000, tail_s: float = 12.0
) -> Path:
    """The caller's side of the call: Piper speech placed at the given times, at phone rate."""
    voice = PiperTTS(length_scale=1.1)
    track = np.zeros(0, dtype=np.int16)
    for at_s, line in script:
        start = int(at_s * rate)
        if len(track) < start:
            track = np.concatenate([track, np.zeros(start - len(track), dtype=np.int16)])
        track = np.concatenate([track, _render_line(voice, line, rate)])
    write_wav(path, Audio(np.concatenate([track, np.zeros(int(tail_s * rate), dtype=np.int16)]), rate))
    return path


def audible_ms(recording: Path, channel: int, threshold_dbfs: float = -45.0) -> int:
    """How long one channel of the stereo recording carries sound (20 ms windows above ``threshold_dbfs``)."""
    with wave.open(str(recording), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, channels)
    signal = samples[:, channel].astype(np.float64)
    window = rate // 50
    usable = len(signal) // window * window
    frames = signal[:usable].reshape(-1, window)
    rms = np.sqrt((frames**2).mean(axis=1)) / 32768.0
    loud = rms > 10 ** (threshold_dbfs / 20)
    return int(loud.sum()) * 20


def run_demo(
    settings: Settings,
    brain: DialogBrain,
    *,
    caller_text: str | None,
    caller_wav: Path | None,
    call_type: str,
    timeout: float,
    echo: tuple[float, int] | None = None,
    console: Console | None = None,
) -> int:
    """One call through the whole stack; ``echo`` is the stand-in line's (gain dB, delay ms), None: clean."""
    out = console or Console()
    upgrade(settings.database_url)
    settings = settings.model_copy(update={"controller_port": 0, "media_port": 0})
    recordings = settings.recordings_dir.resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    out.print(f"[bold]Callbridge demo[/]: {brain.description}; loading the models and rendering the prompts…")
    stack = Stack.build(settings, brain)
    if caller_wav is None:
        script = CALLER_SCRIPT if caller_text is None else ((5.0, caller_text),)
        caller_wav = make_caller_wav(script, stack.speech.directory / "demo-caller.wav")
    switch = FakeSwitch(password=secrets.token_urlsafe(16), recordings_dir=recordings)
    switch.start()
    stack.start(advertise_bound_media=True)
    try:
        line = (
            "a clean line"
            if echo is None
            else f"a line echoing the agent at {echo[0]:g} dB, {echo[1]} ms late"
        )
        out.print(f"FreeSWITCH stand-in: calling {DID} from {CALLER_NUMBER} ({call_type}, {line}) …")
        call = switch.place_call(
            destination=DID,
            caller_id_number=CALLER_NUMBER,
            caller_id_name="Demo Caller",
            socket=f"{settings.controller_host}:{stack.controller_port} async full",
            variables={"call_type": call_type},
            caller_audio=caller_wav,
            rate=8000 if call_type == "sip" else 48000,
            context="public",
            line_echo=LineEcho(*echo) if echo is not None and call_type == "sip" else None,
        )
        ended = call.wait_ended(timeout)
        if not ended:
            out.print(f"[red]the call did not end within {timeout:.0f} s; hanging up[/]")
            call.hangup("NORMAL_CLEARING")
            call.wait_ended(10)
        stack.controller_finished(call.uuid, timeout=10)
        report = stack.reports.get(call.uuid)
        recording = call.recording_path
        heard = audible_ms(recording, channel=1) if recording and recording.exists() else 0
        print_call_detail(stack.call_log, call.uuid, out)
        out.print(
            f"worker received {report.seconds if report else 0:.1f} s of caller audio"
            f" ({report.frames if report else 0} frames at {report.rate if report else 0} Hz)"
        )
        out.print(f"agent audio in the recording: {heard / 1000:.1f} s")
        out.print(f"stereo recording (left: caller, right: agent): {recording}", soft_wrap=True)
        out.print(
            f"call log: {settings.database_url}  (try: callbridge calls --events {call.uuid})", soft_wrap=True
        )
        return 0 if ended and heard > 0 else 1
    finally:
        stack.stop()
        switch.stop()
