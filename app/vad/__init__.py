"""Voice activity detection: Silero VAD on onnxruntime, one shared model, per-call state."""
