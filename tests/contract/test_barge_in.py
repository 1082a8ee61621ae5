"""A caller who talks over the agent stops it, on both switches: the sentence is cut on the wire, what the
caller heard of it is kept, the caller's words are answered, and the agent goes on speaking after every cut."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.demo import audible_ms
from tests.contract.conftest import AnswerWith
from tests.contract.lines import Line

DATA = Path(__file__).resolve().parent / "data"
LONG_GREETING = Path(__file__).resolve().parents[1] / "integration" / "data" / "long_greeting.yaml"
INTERRUPTION = "Sorry to interrupt, I just want to book an appointment for tomorrow."


def test_speaking_over_the_agent_stops_it_and_keeps_what_was_heard(
    line: Line, answer_with: AnswerWith, speak: Callable[..., Path], tmp_path: Path
) -> None:
    stack = answer_with(LONG_GREETING, no_input_timeout="3", max_no_input="1")
    caller = speak(tmp_path / "caller.wav", (3.0, INTERRUPTION))

    call = line.dial_in(stack, tmp_path / "call", caller)

    events = stack.call_log.events(call.uuid)
    assert "barge_in" in [e.name for e in events]
    stops = [(e.detail or {}).get("status") for e in events if e.name == "PLAYBACK_STOP"]
    assert stops.count("break") == 1 and stops[-1] == "done", stops  # one sentence cut, then the goodbye
    greeting, *rest = stack.call_log.turns(call.uuid)
    assert greeting.speaker == "agent" and greeting.interrupted
    heard = str((greeting.timings or {})["heard_text"])
    assert heard and len(heard.split()) < len(greeting.text.split())
    assert greeting.heard_ms is not None and 2000 < greeting.heard_ms < 6000  # the caller spoke from 3 s on
    caller_turns = [t for t in rest if t.speaker == "caller"]
    assert caller_turns and "appointment" in caller_turns[0].text.lower()
    assert (rest[-1].speaker, rest[-1].text) == ("agent", "Goodbye.")
    # On the wire: the caller heard a few seconds of greeting (not its ~12 s) and then the goodbye.
    assert 2000 < audible_ms(call.recording, channel=1) < 9000


def test_the_agent_speaks_again_after_every_barge_in(
    line: Line, answer_with: AnswerWith, speak: Callable[..., Path], tmp_path: Path
) -> None:
    """Three questions, each talked over: every answer gets the next question, played, and then goodbye
    (issue 15: on the real switch the agent once fell silent for good after the third barge-in)."""
    stack = answer_with(DATA / "three_questions.yaml", no_input_timeout="4", max_no_input="1")
    caller = speak(
        tmp_path / "caller.wav",
        (4.0, "Tuesday would be best for me."),
        (11.0, "In the afternoon, please."),
        (18.0, "No, nothing else, thank you."),
    )

    call = line.dial_in(stack, tmp_path / "call", caller)

    turns = [(t.speaker, t.text, t.interrupted) for t in stack.call_log.turns(call.uuid)]
    agent = [(text, interrupted) for speaker, text, interrupted in turns if speaker == "agent"]
    spoken = " ".join(text for text, _ in agent)
    markers = [spoken.find(m) for m in ("First question", "Second question", "Third question")]
    assert -1 not in markers and markers == sorted(markers), turns
    assert agent[-1] == ("Thank you, goodbye.", False), turns
    assert [interrupted for _, interrupted in agent[-4:-1]] == [True, True, True], turns
    assert len([t for t in turns if t[0] == "caller"]) == 3, turns
    events = stack.call_log.events(call.uuid)
    starts = [e for e in events if e.name == "PLAYBACK_START"]
    assert len(starts) >= 5, [e.name for e in events]
    assert "command_failed" not in [e.name for e in events]
    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.hangup_cause == "NORMAL_CLEARING"
