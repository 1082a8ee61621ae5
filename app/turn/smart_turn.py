"""Smart Turn v3.2 run with onnxruntime: the probability that the caller has finished their turn.

The model (a small Whisper-encoder classifier, int8) takes ``input_features`` shaped ``(batch, 80, 800)``
(see :mod:`app.turn.features`) and returns one sigmoid probability per row as ``logits`` ``(batch, 1)``.
Rows are independent, so the utterances of several calls go through one inference.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
import soxr

from app.turn.features import SAMPLE_RATE, WINDOW_SAMPLES, log_mel

DEFAULT_MODEL_PATH = (
    Path(__file__).resolve().parent.parent / "models" / "smart_turn" / "smart-turn-v3.2-cpu.onnx"
)
SUPPORTED_RATES = (8000, 16000)
# Extra source samples resampled before the 8 s window, so the resampler's start-up never reaches it.
_RESAMPLE_MARGIN_S = 0.05


def to_model_audio(audio: np.ndarray, rate: int) -> np.ndarray:
    """float32 in [-1, 1] at 16 kHz, at most the last 8 s, from int16 or float32 at 8 or 16 kHz."""
    if rate not in SUPPORTED_RATES:
        raise ValueError(f"Smart Turn takes 8000 or 16000 Hz audio, not {rate}")
    samples = np.asarray(audio).reshape(-1)
    keep = int(WINDOW_SAMPLES * rate / SAMPLE_RATE + _RESAMPLE_MARGIN_S * rate)
    samples = samples[-keep:]
    scale = 1.0 / 32768.0 if samples.dtype == np.int16 else 1.0
    floats = samples.astype(np.float32) * np.float32(scale)
    if rate != SAMPLE_RATE and len(floats):
        floats = np.asarray(soxr.resample(floats, rate, SAMPLE_RATE, quality="HQ"), dtype=np.float32)
    return floats[-WINDOW_SAMPLES:]


def features(audio: np.ndarray, rate: int) -> np.ndarray:
    """The model's ``(80, 800)`` input for one utterance so far."""
    return log_mel(to_model_audio(audio, rate))


class SmartTurnModel:
    """One onnxruntime session; :meth:`infer` and the predicts are thread-safe (the GIL is released)."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        model_path = path or DEFAULT_MODEL_PATH
        if not model_path.is_file():
            raise FileNotFoundError(f"Smart Turn model not found: {model_path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = model_path
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def infer(self, batch: np.ndarray) -> list[float]:
        """Probabilities for features shaped ``(n, 80, 800)``."""
        if len(batch) == 0:
            return []
        (output,) = self._session.run(None, {self._input: batch.astype(np.float32, copy=False)})
        return [float(p) for p in np.asarray(output).reshape(-1)]

    def predict(self, audio: np.ndarray, rate: int) -> float:
        """Probability (0..1) that the speaker has finished their turn, from the utterance so far.

        ``audio`` is int16 or float32 mono at 8 or 16 kHz; only its last 8 s count.
        """
        return self.infer(features(audio, rate)[None])[0]

    def predict_batch(self, audios: Sequence[np.ndarray], rate: int) -> list[float]:
        """:meth:`predict` for several utterances at one rate, in one inference."""
        if not audios:
            return []
        return self.infer(np.stack([features(a, rate) for a in audios]))


_shared: dict[Path, SmartTurnModel] = {}
_shared_lock = threading.Lock()


def shared_turn_model(path: Path | None = None) -> SmartTurnModel:
    """The process's model for ``path`` (loaded once, whichever thread asks first)."""
    key = (path or DEFAULT_MODEL_PATH).resolve()
    with _shared_lock:
        model = _shared.get(key)
        if model is None:
            model = _shared[key] = SmartTurnModel(key)
        return model
