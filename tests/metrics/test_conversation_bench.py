"""The pure parts of bench/eval_conversation.py: the set's layout and the scoring (the bench is never run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cs = load("conversation_set")
score = load("conversation_score")


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("My number is four five six, seven eight nine.", "My number is 456-789."),
        ("It was on the fifth of March.", "It was on the 5th of March"),
        ("In nineteen eighty five, around three thirty", "in 1985 around 3.30"),
        ("Um, I think twenty one", "I think 21"),
    ],
)
def test_numbers_and_fillers_compare_equal(said: str, heard: str) -> None:
    assert score.normalize(said) == score.normalize(heard)


def test_different_numbers_still_differ() -> None:
    assert score.normalize("four five six") != score.normalize("4 5 7")


def test_condition_names() -> None:
    assert cs.parse_condition("clean") == cs.Condition("clean", None, 0.0)
    assert cs.parse_condition("20db+loss5") == cs.Condition("20db+loss5", 20.0, 0.05)
    with pytest.raises(ValueError, match="unknown"):
        cs.parse_condition("loud")


def test_selection_spreads_over_categories() -> None:
    chosen = cs.select_turns(8)
    categories = {cs.TURNS[i][0] for i in chosen}
    assert len(chosen) == 8 == len(set(chosen))
    assert {"multi", "short", "answer"} <= categories
    assert cs.select_turns(1000) == list(range(len(cs.TURNS)))


def test_render_turn_places_each_clause_after_its_pause() -> None:
    def synth(text: str) -> tuple[np.ndarray, int]:
        # 100 ms of silence, len(text) * 10 ms of tone, 100 ms of silence, at 16 kHz
        tone = (8000 * np.sin(np.arange(160 * len(text)) / 3)).astype(np.int16)
        pad = np.zeros(1600, dtype=np.int16)
        return np.concatenate([pad, tone, pad]), 16000

    audio, spans = cs.render_turn(("abcde", 500, "abcdefghij"), synth)
    (s1, e1), (s2, e2) = spans
    assert s1 == 0 and abs(e1 - 400) <= 80  # 50 ms of tone at 8 kHz, trimmed to the speech
    assert abs((s2 - e1) - 4000) <= 80  # the 500 ms pause
    assert abs((e2 - s2) - 800) <= 80 and e2 == len(audio)


def test_frame_loss_zeroes_or_repeats_whole_frames() -> None:
    samples = np.arange(1, 160 * 200 + 1, dtype=np.int16)
    lost = cs.lose_frames(samples, 0.2, np.random.default_rng(1))
    frames = lost.reshape(200, 160)
    changed = [i for i in range(200) if not np.array_equal(frames[i], samples.reshape(200, 160)[i])]
    assert 20 < len(changed) < 60
    for i in changed:
        assert not frames[i].any() or np.array_equal(frames[i], frames[i - 1])


def _msg(kind: str, decided: float, text: str = "x", start: float = 0.0, end: float | None = None) -> dict[str, object]:
    return {
        "type": kind,
        "text": text,
        "start_ms": start,
        "end_ms": decided - 500 if end is None else end,
        "decided_ms": decided,
        "reason": "silence",
    }


def test_an_end_before_the_last_clause_is_a_cut_off() -> None:
    clauses = [(800.0, 1800.0), (2600.0, 3500.0)]
    early = [_msg("speech_stopped", 2300), _msg("utterance", 2300, "I was calling about"),
             _msg("speech_stopped", 4100), _msg("utterance", 4100, "the bill")]  # fmt: skip
    cut = score.score_clip("multi", "I was calling about the bill", clauses, early)
    assert cut.cut_off and cut.split and cut.word_errors == 0 and cut.end_latency_ms == 600
    whole = [_msg("speech_stopped", 4200), _msg("utterance", 4200, "I was calling about the bill")]
    kept = score.score_clip("multi", "I was calling about the bill", clauses, whole)
    assert not kept.cut_off and kept.end_latency_ms == 700
    summary = score.summarize([cut, kept])
    assert (summary.multi, summary.cut_off, summary.latencies) == (2, 1, [700])


def test_short_answers_loops_and_noise() -> None:
    mhm = score.score_clip("short", "Mhm.", [(800.0, 1100.0)], [_msg("utterance", 1650, "Mm-hmm.")])
    assert mhm.kept and mhm.right_word
    lost = score.score_clip("short", "Yes.", [(800.0, 1000.0)], [])
    assert not lost.kept and lost.never_ended and lost.word_errors == 1
    loop = [_msg("utterance", 2500, "dot " * 30, start=800, end=2000), {"type": "stt_rejected", "reason": "loop"}]
    noise = score.score_clip("noise", "", [], loop)
    assert (noise.invented_words, noise.loops, noise.refused) == (30, 1, 1)


def test_a_segment_end_held_back_from_the_brain_is_not_a_cut_off() -> None:
    clauses = [(800.0, 1800.0), (2600.0, 3500.0)]
    held = [_msg("speech_stopped", 2300), _msg("speech_stopped", 4100), _msg("utterance", 4100, "a b")]
    s = score.score_clip("multi", "a b", clauses, held)
    assert s.split and not s.cut_off and s.end_latency_ms == 600
