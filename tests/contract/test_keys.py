"""Keys pressed on the phone reach the flow, on both switches (RFC 2833 telephone-events on the real one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.contract.conftest import AnswerWith
from tests.contract.lines import Line

KEYS_FLOW = Path(__file__).resolve().parent / "data" / "keys.yaml"


def test_a_key_press_is_heard_and_routes_the_call(
    line: Line, answer_with: AnswerWith, speak: Callable[..., Path], tmp_path: Path
) -> None:
    stack = answer_with(KEYS_FLOW, no_input_timeout="6", max_no_input="1")
    caller = speak(tmp_path / "caller.wav")  # keys only, no words

    call = line.dial_in(stack, tmp_path / "call", caller, dtmf=(3500, "1"))

    digits = [(e.detail or {}).get("digit") for e in stack.call_log.events(call.uuid) if e.name == "DTMF"]
    assert digits == ["1"]
    said = [t.text for t in stack.call_log.turns(call.uuid) if t.speaker == "agent"]
    assert said[-1] == "You pressed one.", said
    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.hangup_cause == "NORMAL_CLEARING"
