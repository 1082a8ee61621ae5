"""The AMD evaluation set: the pick-ups and voicemail greetings of bench/conversation_set.py in every voice.

``conversation_set.build`` gives each turn one voice (the voices rotate over the turns); answering-machine
detection needs each greeting in many voices, so this renders the ``answer``, ``voicemail`` and
``voicemail_beep`` turns of :data:`conversation_set.TURNS` in every available voice, with the set's own
functions (clause synthesis and trimming, the 1 kHz beep half a second after the words, the lead and tail
silence, noise, G.711 mu-law, frame loss), plus noise-only clips (nobody speaks) per noisy condition.

The clips and a ``manifest.json`` in ``conversation_set``'s format go to ``<root>/amd-<key>/``, keyed by
everything that shapes the audio, and are reused.
"""

from __future__ import annotations

import hashlib
import json
import wave
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import conversation_set as cs
import numpy as np

from app.media.speechset import Spoken

VERSION = 1
CATEGORIES = ("answer", "voicemail", "voicemail_beep")
HUMAN, MACHINE, NOBODY = "human", "machine", "nobody"
NOISE_CLIPS = 3  # noise-only clips per noisy condition


def truth(category: str) -> str:
    """Who answered: a person picking up, a machine, or nobody (noise only)."""
    if category == "answer":
        return HUMAN
    return MACHINE if category.startswith("voicemail") else NOBODY


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(cs.RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def _key(
    turns: Sequence[int], conditions: Sequence[str], voices: Sequence[tuple[str, ...]], seed: int
) -> str:
    spec = [
        VERSION,
        cs.VERSION,
        [cs.TURNS[i] for i in turns],
        list(conditions),
        list(voices),
        seed,
        NOISE_CLIPS,
    ]
    return hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:12]


def build(root: Path, conditions: Sequence[str], seed: int = 13) -> tuple[Path, list[cs.ClipInfo]]:
    """Render (or reuse) the set under ``root``; returns its directory and its clips."""
    turns = [i for i, (category, _) in enumerate(cs.TURNS) if category in CATEGORIES]
    voices = cs.available_voices()
    directory = root / f"amd-{_key(turns, conditions, voices, seed)}"
    if (directory / "manifest.json").exists():
        return directory, cs.load(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rendered: list[tuple[int, int, np.ndarray, list[tuple[int, int]]]] = []
    for v, voice in enumerate(voices):
        synth = cs.synthesizer(voice)
        for index in turns:
            category, clauses = cs.TURNS[index]
            audio, spans = cs.render_turn(clauses, synth)
            if category == "voicemail_beep":
                audio = np.concatenate([audio, np.zeros(cs.RATE // 2, dtype=np.int16), cs.beep()])
            rendered.append((index, v, audio, spans))
    speech = np.concatenate([a[s:e] for _, _, a, spans in rendered for s, e in spans]).astype(np.float64)
    noise_power = float(np.mean(speech**2))
    lead = np.zeros(cs.RATE * cs.LEAD_MS // 1000, np.int16)
    tail = np.zeros(cs.RATE * cs.TAIL_MS // 1000, np.int16)
    clips: list[cs.ClipInfo] = []
    for c, name in enumerate(conditions):
        condition = cs.parse_condition(name)
        for index, v, audio, spans in rendered:
            category, clauses = cs.TURNS[index]
            samples = np.concatenate([lead, audio, tail])
            spoken = [Spoken(len(lead) + s, len(lead) + e, "") for s, e in spans]
            line_seed = seed * 100_000 + c * 1000 + v * 100 + index
            line = cs.through_line(samples, spoken, condition, noise_power, line_seed)
            text = " ".join(x for x in clauses if isinstance(x, str))
            clip_id = f"t{index:02d}-v{v}-{name}"
            clips.append(
                _save(directory, clip_id, category, name, cs.voice_name(voices[v]), text, spoken, line)
            )
        if condition.snr_db is None:
            continue  # a noise-only clip of a clean line is digital silence
        for k in range(NOISE_CLIPS):
            silence = np.zeros(int(cs.RATE * cs.NOISE_SECONDS), dtype=np.int16)
            line = cs.through_line(silence, [], condition, noise_power, seed * 100_000 + c * 1000 + 990 + k)
            clips.append(_save(directory, f"noise{k}-{name}", "noise", name, "", "", [], line))
    (directory / "manifest.json").write_text(json.dumps([asdict(c) for c in clips], indent=1))
    return directory, clips


def _save(
    directory: Path, clip_id: str, category: str, condition: str, voice: str, text: str,
    spoken: Sequence[Spoken], line: np.ndarray,
) -> cs.ClipInfo:  # fmt: skip
    _write_wav(directory / f"{clip_id}.wav", line)
    clauses = tuple((1000 * s.start / cs.RATE, 1000 * s.end / cs.RATE) for s in spoken)
    duration = 1000 * len(line) / cs.RATE
    return cs.ClipInfo(clip_id, category, condition, voice, text, clauses, duration, f"{clip_id}.wav")
