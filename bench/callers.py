"""The benchmark callers' side of the call: Piper speech laid out in time, as each call type hears it.

SIP callers come through a G.711 line (8 kHz mu-law); WebRTC callers are wideband (16 kHz, clean). The
turn times fit ``data/bench_flow.yaml``: the caller answers the greeting, then the agent's question.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.media.speechset import telephone
from app.tts.base import Audio, write_wav
from app.tts.piper import PiperTTS

# (seconds after the answer, words): the greeting and first question take ~4 s, a reply ~3 s.
SCRIPT = (
    (5.0, "Hi, I would like to book an appointment for next week, please."),
    (14.0, "Tuesday afternoon would be great."),
)
TAIL_S = 14.0  # silence after the last words: the agent says goodbye and hangs up within it
# call type -> (caller WAV rate, channel rate)
CALL_TYPES = {"sip": (8000, 8000), "webrtc": (16000, 48000)}


def caller_wav(call_type: str, directory: Path) -> Path:
    """Render (once) and return the caller WAV for ``call_type``."""
    rate, _ = CALL_TYPES[call_type]
    path = directory / f"caller-{call_type}.wav"
    if path.exists():
        return path
    voice = PiperTTS(length_scale=1.05)
    track = np.zeros(0, dtype=np.int16)
    for at_s, text in SCRIPT:
        start = int(at_s * rate)
        if len(track) < start:
            track = np.concatenate([track, np.zeros(start - len(track), dtype=np.int16)])
        speech = voice.synthesize(text)
        if call_type == "sip":
            words = telephone(speech.samples, speech.rate, rate)
        else:
            words = speech.resampled(rate).samples
        track = np.concatenate([track, words])
    write_wav(path, Audio(np.concatenate([track, np.zeros(int(TAIL_S * rate), dtype=np.int16)]), rate))
    return path
