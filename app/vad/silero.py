"""Silero VAD (v5/v6 ONNX) run with onnxruntime: one session per process, state per call.

The model takes a window of 512 samples at 16 kHz or 256 at 8 kHz (its native narrowband mode, so
8 kHz calls are never upsampled), preceded by the last 64/32 samples of the previous window, plus a
recurrent state of shape ``(2, batch, 128)``. Rows of a batch are independent, so the windows of many
calls go through one inference; each call keeps its own :class:`VadState`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "silero" / "silero_vad.onnx"
SUPPORTED_RATES = (8000, 16000)
_STATE_SIZE = 128


def window_samples(rate: int) -> int:
    """Samples per model window: 256 at 8 kHz (32 ms), 512 at 16 kHz (32 ms)."""
    _check_rate(rate)
    return 256 if rate == 8000 else 512


def context_samples(rate: int) -> int:
    _check_rate(rate)
    return 32 if rate == 8000 else 64


def _check_rate(rate: int) -> None:
    if rate not in SUPPORTED_RATES:
        raise ValueError(f"Silero VAD runs at 8000 or 16000 Hz, not {rate}")


@dataclass
class VadState:
    """One call's recurrent state and audio context; cheap (about 1 KB)."""

    rate: int
    state: np.ndarray = field(init=False)
    context: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros((2, _STATE_SIZE), dtype=np.float32)
        self.context = np.zeros(context_samples(self.rate), dtype=np.float32)


class SileroModel:
    """The shared model. :meth:`infer` is thread-safe; onnxruntime releases the GIL while it runs."""

    def __init__(self, path: Path | None = None) -> None:
        model_path = path or DEFAULT_MODEL_PATH
        if not model_path.is_file():
            raise FileNotFoundError(f"Silero VAD model not found: {model_path}")
        options = onnxruntime.SessionOptions()
        # One thread per session: calls are parallel across sessions/threads, not inside one window.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._rates = {rate: np.array(rate, dtype=np.int64) for rate in SUPPORTED_RATES}

    def infer(self, states: list[VadState], windows: np.ndarray) -> np.ndarray:
        """Speech probability of one window per state (all at one rate); advances each state.

        ``windows`` is float32 in [-1, 1], shape ``(len(states), window_samples(rate))``.
        """
        if not states:
            return np.zeros(0, dtype=np.float32)
        rate = states[0].rate
        size = window_samples(rate)
        if windows.shape != (len(states), size):
            raise ValueError(f"expected windows of shape {(len(states), size)}, got {windows.shape}")
        if any(s.rate != rate for s in states):
            raise ValueError("one inference takes windows of a single rate")
        contexts = np.stack([s.context for s in states])
        model_input = np.concatenate([contexts, windows], axis=1).astype(np.float32, copy=False)
        state = np.ascontiguousarray(np.stack([s.state for s in states], axis=1))
        output, new_state = self._session.run(
            None, {"input": model_input, "state": state, "sr": self._rates[rate]}
        )
        width = context_samples(rate)
        for row, vad_state in enumerate(states):
            vad_state.state = np.ascontiguousarray(new_state[:, row, :])
            vad_state.context = model_input[row, -width:].copy()
        return np.asarray(output, dtype=np.float32).reshape(-1)


_shared: dict[Path, SileroModel] = {}
_shared_lock = threading.Lock()


def shared_model(path: Path | None = None) -> SileroModel:
    """The process-wide model for ``path`` (loaded on first use)."""
    key = (path or DEFAULT_MODEL_PATH).resolve()
    with _shared_lock:
        model = _shared.get(key)
        if model is None:
            model = _shared[key] = SileroModel(key)
        return model


def to_float(samples: np.ndarray) -> np.ndarray:
    """int16 PCM to float32 in [-1, 1)."""
    return samples.astype(np.float32) / 32768.0
