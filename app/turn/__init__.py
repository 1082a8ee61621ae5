"""End-of-turn detection: Smart Turn v3.2, an ONNX audio classifier on Whisper-style log-mel features.

Given the caller's utterance so far, the model says how likely it is that they have finished their turn
(as opposed to pausing mid-sentence). ``features`` computes the model's input in numpy, ``smart_turn``
runs the model, and ``batcher`` lets the calls of one media worker share its inference thread.
"""
