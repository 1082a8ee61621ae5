"""The conversational evaluation set: caller turns as a phone line delivers them, rendered once and cached.

Each turn is a list of clauses with the pauses a real caller leaves between them (after conjunctions,
prepositions, commas, in the middle of a number), plus one-word answers, people answering the phone,
voicemail greetings (some ending in a 1 kHz beep) and noise-only clips. Every clause is synthesised on its
own (Piper's joe voice at several speeds, espeak-ng voices at several rates), trimmed to its speech and
joined with silence, so the true span of every clause is known. The whole clip then goes through the line:
8 kHz, noise at the condition's SNR, G.711 mu-law, and optionally 20 ms frames lost (zeroed or repeated,
as a jitter buffer's concealment would).

:func:`build` writes the WAVs and a ``manifest.json`` into a cache directory keyed by everything that
shapes the audio, so the BEFORE and AFTER trees hear exactly the same samples (Piper is randomised).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.media.speechset import Spoken, add_noise, espeak, mulaw_decode, mulaw_encode, resample, speech_span

RATE = 8000
FRAME = RATE // 50  # 20 ms, what mod_audio_stream sends
LEAD_MS = 800
TAIL_MS = 3500  # room for the slowest end decision before the stream ends
VERSION = 2

Clause = str | int  # text to say, or a pause in ms
# Both voices spell "Mhm" out as letters; this is how to make them hum it.
SAY_AS = {"Mhm.": "Hmm hmm."}

# (category, clauses): "multi" turns have pauses inside them; "short" are one-word answers; "answer" is
# how people pick up the phone; "voicemail" greetings end with a beep when the category says so.
TURNS: tuple[tuple[str, tuple[Clause, ...]], ...] = (
    ("multi", ("I'd like to book a table for two,", 600, "and maybe", 800, "somewhere near the window.")),
    ("multi", ("I was calling about", 700, "the bill I got last week.")),
    ("multi", ("My number is four five six", 900, "seven eight nine", 600, "zero one.")),
    ("multi", ("Um,", 700, "I think", 500, "it was on the fifth of March.")),
    ("multi", ("Yes, but", 800, "only if it's before noon.")),
    ("multi", ("Can you move my appointment to", 1000, "next Tuesday?")),
    ("multi", ("Uh,", 600, "let me check,", 1200, "it's account two seven three one.")),
    ("multi", ("I need to cancel my order because", 900, "it arrived broken.")),
    ("multi", ("So the problem is that", 700, "the internet keeps dropping", 500, "every evening.")),
    ("multi", ("We moved in on June twenty first,", 800, "in nineteen ninety nine.")),
    ("multi", ("The parcel weighed", 600, "about twelve kilos.")),
    ("multi", ("I'm not sure, maybe", 900, "around three thirty?")),
    ("multi", ("Could you tell me", 500, "um", 600, "where the nearest branch is?")),
    ("multi", ("It's the one on", 800, "Baker Street, next to", 700, "the train station.")),
    ("multi", ("My date of birth is", 700, "the second of May,", 500, "nineteen eighty five.")),
    ("multi", ("Well,", 600, "I called yesterday and", 1000, "nobody got back to me.")),
    ("multi", ("The code is seven", 700, "three", 600, "nine two.")),
    ("multi", ("Hi, yes, I'm calling because", 800, "I got a message from you", 500, "about a delivery.")),
    ("short", ("Yes.",)),
    ("short", ("No.",)),
    ("short", ("Okay.",)),
    ("short", ("Mhm.",)),
    ("short", ("Yeah.",)),
    ("short", ("Sure.",)),
    ("short", ("Nope.",)),
    ("short", ("Right.",)),
    ("short", ("Correct.",)),
    ("short", ("Thanks.",)),
    ("answer", ("Hello?",)),
    ("answer", ("Yeah, this is Sam,", 400, "who's calling?")),
    ("answer", ("Hello, Maria speaking.",)),
    ("answer", ("Hi, who is this?",)),
    ("answer", ("Good morning,", 300, "Johnson residence.")),
    (
        "voicemail_beep",
        (
            "Hi, you've reached Dave.",
            400,
            "I can't come to the phone right now,",
            500,
            "so please leave a message after the tone",
            300,
            "and I'll get back to you.",
        ),
    ),
    (
        "voicemail",
        (
            "Hello, this is the voicemail of Sarah Miller.",
            500,
            "Please leave your name and number",
            400,
            "and I will call you back as soon as I can.",
        ),
    ),
    (
        "voicemail_beep",
        ("The person you are calling is not available.", 600, "Please record your message after the tone."),
    ),
    ("voicemail_beep", ("Hey, it's Tom.", 300, "Leave a message.")),
    (
        "voicemail",
        (
            "Thank you for calling Green Valley Dental.",
            500,
            "Our office is currently closed.",
            500,
            "Our hours are Monday to Friday,",
            400,
            "nine to five.",
            500,
            "Please leave a message and we will return your call.",
        ),
    ),
)
NOISE_CLIPS = 2  # noise-only clips per noisy condition
NOISE_SECONDS = 6.0

# ("piper", length_scale) or ("espeak", voice, words per minute)
VOICES: tuple[tuple[str, ...], ...] = (
    ("piper", "1.0"),
    ("espeak", "en-us", "170"),
    ("piper", "0.85"),
    ("espeak", "en+f3", "150"),
    ("piper", "1.25"),
    ("espeak", "en+m3", "190"),
    ("espeak", "en+f4", "160"),
    ("espeak", "en-gb", "140"),
)
DEFAULT_CONDITIONS = ("clean", "20db+loss5", "5db")
ALL_CONDITIONS = ("clean", "20db", "10db", "5db", "clean+loss5", "20db+loss5")


@dataclass(frozen=True)
class Condition:
    """How the line treats the clip: noise SNR (None: none) and the share of 20 ms frames lost."""

    name: str
    snr_db: float | None
    loss: float


def parse_condition(name: str) -> Condition:
    """``clean``, ``10db``, ``20db+loss5`` (5 % of frames lost), ..."""
    snr: float | None = None
    loss = 0.0
    for part in name.lower().split("+"):
        if part == "clean":
            continue
        if part.endswith("db"):
            snr = float(part[:-2])
        elif part.startswith("loss"):
            loss = float(part[4:]) / 100
        else:
            raise ValueError(f"unknown condition part {part!r} in {name!r}")
    return Condition(name, snr, loss)


@dataclass(frozen=True)
class ClipInfo:
    """One rendered clip of the manifest; times are ms from the start of the clip."""

    id: str
    category: str  # multi / short / answer / voicemail / voicemail_beep / noise
    condition: str
    voice: str
    text: str  # what was said, all clauses (empty for noise)
    clauses: tuple[tuple[float, float], ...]  # (start_ms, end_ms) of each clause's speech
    duration_ms: float
    wav: str

    @property
    def speech_end_ms(self) -> float:
        return self.clauses[-1][1] if self.clauses else 0.0


def select_turns(count: int) -> list[int]:
    """``count`` turn indices spread over the categories in proportion (deterministic)."""
    by_category: dict[str, list[int]] = {}
    for i, (category, _) in enumerate(TURNS):
        by_category.setdefault(category, []).append(i)
    count = max(1, min(count, len(TURNS)))
    chosen: list[int] = []
    # Interleave the categories, taking each one's turns in order, until enough are chosen.
    queues = [list(v) for v in by_category.values()]
    weights = [len(q) for q in queues]
    taken = [0] * len(queues)
    while len(chosen) < count:
        k = min(
            range(len(queues)), key=lambda j: (taken[j] / weights[j] if taken[j] < weights[j] else 9.0, j)
        )
        chosen.append(queues[k][taken[k]])
        taken[k] += 1
    return sorted(chosen)


Synth = Callable[[str], tuple[np.ndarray, int]]


def voice_name(voice: tuple[str, ...]) -> str:
    return f"piper:joe:{voice[1]}" if voice[0] == "piper" else f"espeak:{voice[1]}:{voice[2]}"


def synthesizer(voice: tuple[str, ...]) -> Synth:
    """A function text -> (int16 samples, rate) for one entry of :data:`VOICES`."""
    if voice[0] == "piper":
        from app.tts.piper import PiperTTS  # noqa: PLC0415 - loads the voice

        tts = PiperTTS(length_scale=float(voice[1]))

        def piper(text: str) -> tuple[np.ndarray, int]:
            audio = tts.synthesize(text)
            return audio.samples, audio.rate

        return piper
    return lambda text: espeak(text, voice=voice[1], speed=int(voice[2]))


def available_voices() -> tuple[tuple[str, ...], ...]:
    """:data:`VOICES`, less the espeak-ng ones when the program is not installed."""
    if shutil.which("espeak-ng"):
        return VOICES
    return tuple(v for v in VOICES if v[0] == "piper")


def render_turn(clauses: Sequence[Clause], synth: Synth) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The turn at 8 kHz (before the line) and each clause's (start, end) sample, from the first speech."""
    pieces: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for clause in clauses:
        if isinstance(clause, int):
            pieces.append(np.zeros(RATE * clause // 1000, dtype=np.int16))
            offset += len(pieces[-1])
            continue
        raw, raw_rate = synth(SAY_AS.get(clause, clause))
        narrow = resample(raw, raw_rate, RATE)
        first, last = speech_span(narrow, RATE)
        speech = narrow[first:last]
        pieces.append(speech)
        spans.append((offset, offset + len(speech)))
        offset += len(speech)
    return np.concatenate(pieces), spans


def beep(ms: int = 400, hz: float = 1000.0, dbfs: float = -12.0) -> np.ndarray:
    t = np.arange(RATE * ms // 1000) / RATE
    tone = 10 ** (dbfs / 20) * 32767 * np.sin(2 * np.pi * hz * t)
    return np.round(tone).astype(np.int16)


def lose_frames(samples: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Each 20 ms frame lost with probability ``share``: zeroed or a repeat of the previous frame."""
    out = samples.copy()
    for start in range(FRAME, len(out) - FRAME + 1, FRAME):
        if rng.random() < share:
            out[start : start + FRAME] = 0 if rng.random() < 0.5 else out[start - FRAME : start]
    return out


def through_line(
    samples: np.ndarray, spoken: Sequence[Spoken], condition: Condition, noise_power: float, seed: int
) -> np.ndarray:
    """Noise (relative to ``noise_power`` when there is no speech to measure), mu-law, frame loss."""
    rng = np.random.default_rng(seed)
    if condition.snr_db is not None:
        if spoken:
            samples = add_noise(samples, spoken, condition.snr_db, rng)
        else:
            # No speech to measure: mix with a constant of power 1e6, take it out, scale to the set's level.
            level = np.full(len(samples), 1000, dtype=np.int16)
            mixed = add_noise(level, [Spoken(0, len(samples), "")], condition.snr_db, rng)
            noise = mixed.astype(np.float64) - 1000
            scaled = samples + noise * np.sqrt(noise_power / 1e6)
            samples = np.clip(np.round(scaled), -32768, 32767).astype(np.int16)
    line = mulaw_decode(mulaw_encode(samples))
    return lose_frames(line, condition.loss, rng) if condition.loss else line


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def cache_key(
    turns: Sequence[int], conditions: Sequence[str], voices: Sequence[tuple[str, ...]], seed: int
) -> str:
    spec = json.dumps([VERSION, [TURNS[i] for i in turns], list(conditions), list(voices), seed, NOISE_CLIPS])
    return hashlib.sha1(spec.encode()).hexdigest()[:12]


def build(root: Path, turns: int, conditions: Sequence[str], seed: int = 13) -> tuple[Path, list[ClipInfo]]:
    """Render (or reuse) the set under ``root``; returns its directory and its clips."""
    chosen = select_turns(turns)
    voices = available_voices()
    directory = root / cache_key(chosen, conditions, voices, seed)
    manifest = directory / "manifest.json"
    if manifest.exists():
        return directory, load(directory)
    directory.mkdir(parents=True, exist_ok=True)
    synths: dict[tuple[str, ...], Synth] = {}
    rendered: list[tuple[int, tuple[str, ...], np.ndarray, list[tuple[int, int]]]] = []
    for n, index in enumerate(chosen):
        category, clauses = TURNS[index]
        voice = voices[n % len(voices)]
        if voice not in synths:
            synths[voice] = synthesizer(voice)
        audio, spans = render_turn(clauses, synths[voice])
        if category == "voicemail_beep":
            audio = np.concatenate([audio, np.zeros(RATE // 2, dtype=np.int16), beep()])
        rendered.append((index, voice, audio, spans))
    speech = np.concatenate([a[s:e] for _, _, a, spans in rendered for s, e in spans]).astype(np.float64)
    noise_power = float(np.mean(speech**2))
    lead, tail = np.zeros(RATE * LEAD_MS // 1000, np.int16), np.zeros(RATE * TAIL_MS // 1000, np.int16)
    clips: list[ClipInfo] = []
    for c, name in enumerate(conditions):
        condition = parse_condition(name)
        for index, voice, audio, spans in rendered:
            category, clauses = TURNS[index]
            samples = np.concatenate([lead, audio, tail])
            spoken = [Spoken(len(lead) + s, len(lead) + e, "") for s, e in spans]
            line = through_line(samples, spoken, condition, noise_power, seed * 1000 + c * 100 + index)
            text = " ".join(x for x in clauses if isinstance(x, str))
            clips.append(
                _save(
                    directory, f"t{index:02d}-{name}", category, name, voice_name(voice), text, spoken, line
                )
            )
        if condition.snr_db is None:
            continue  # a noise-only clip of a clean line is digital silence
        for k in range(NOISE_CLIPS):
            silence = np.zeros(int(RATE * NOISE_SECONDS), dtype=np.int16)
            line = through_line(silence, [], condition, noise_power, seed * 1000 + c * 100 + 90 + k)
            clips.append(_save(directory, f"noise{k}-{name}", "noise", name, "", "", [], line))
    manifest.write_text(json.dumps([asdict(c) for c in clips], indent=1))
    return directory, clips


def _save(
    directory: Path, clip_id: str, category: str, condition: str, voice: str, text: str,
    spoken: Sequence[Spoken], line: np.ndarray,
) -> ClipInfo:  # fmt: skip
    _write_wav(directory / f"{clip_id}.wav", line)
    clauses = tuple((1000 * s.start / RATE, 1000 * s.end / RATE) for s in spoken)
    return ClipInfo(
        clip_id, category, condition, voice, text, clauses, 1000 * len(line) / RATE, f"{clip_id}.wav"
    )


def load(directory: Path) -> list[ClipInfo]:
    """The clips of a built set."""
    rows = json.loads((directory / "manifest.json").read_text())
    return [ClipInfo(**{**r, "clauses": tuple(tuple(c) for c in r["clauses"])}) for r in rows]
