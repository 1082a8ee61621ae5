"""Loading flows: the shipped examples are valid; every mistake is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dialog.factory import FLOWS_DIR, packaged_flow
from app.dialog.flow_loader import FlowError, load_flow, parse_flow

VALID = """\
name: tiny
start: ask
defaults:
  on_fail: bye
nodes:
  ask:
    say: Shall I go on?
    routes:
      - match: yes
        goto: bye
  bye:
    say: Goodbye.
    end: hangup
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        parse_flow(text, "flows/test.yaml")
    return [str(p) for p in caught.value.problems]


def test_shipped_examples_load_and_are_package_data() -> None:
    shipped = sorted(p.name for p in FLOWS_DIR.glob("*.yaml"))
    assert shipped == ["appointment_booking.yaml", "appointment_reminder.yaml"]
    reminder = load_flow(packaged_flow("appointment_reminder"))
    assert reminder.inputs == ("name", "appointment_time")
    assert reminder.llm_prompt is not None and "{name}" in reminder.llm_prompt
    booking = load_flow(packaged_flow("appointment_booking"))
    assert booking.start == "ask_when" and booking.nodes["to_person"].transfer == "1000"
    setup = (Path(__file__).resolve().parents[2] / "setup.cfg").read_text()
    assert "dialog/flows/*.yaml" in setup


def test_yes_stays_text_and_a_valid_flow_loads() -> None:
    flow = parse_flow(VALID)
    route = flow.nodes["ask"].routes[0]
    assert route.goto == "bye" and route.line == 9
    assert flow.nodes["bye"].hangup


def test_unknown_goto_is_reported_with_line_and_suggestion() -> None:
    found = problems(VALID.replace("goto: bye", "goto: by"))
    assert found == ["flows/test.yaml:9: node 'ask' goes to unknown node 'by' (did you mean 'bye'?)"]


def test_unknown_key_and_unknown_variable() -> None:
    text = VALID.replace("    say: Shall I go on?", "    sya: x\n    say: Shall I go on, {nmae}?")
    found = problems(text)
    assert "flows/test.yaml:7: unknown key 'sya' in node 'ask' (did you mean 'say'?)" in found
    assert any(p.startswith("flows/test.yaml:8: unknown variable {nmae}") for p in found)


def test_bad_regex_bad_matcher_and_bad_transfer() -> None:
    text = VALID.replace("      - match: yes\n", "      - match: {regex: '(unclosed'}\n").replace(
        "    end: hangup", "    transfer: 'sip:a b@c'"
    )
    text += "  extra:\n    say: hi\n    routes:\n      - match: maybe\n        goto: bye\n"
    found = problems(text)
    assert any(p.startswith("flows/test.yaml:9: bad regular expression") for p in found)
    assert any(p.startswith("flows/test.yaml:13: transfer destination 'sip:a b@c'") for p in found)
    assert any(p.startswith("flows/test.yaml:17: unknown match 'maybe'") for p in found)
    assert "flows/test.yaml:14: node 'extra' is never reached from 'ask'" in found


def test_node_needs_exactly_one_ending_and_waiting_nodes_need_on_fail() -> None:
    text = VALID.replace("defaults:\n  on_fail: bye\n", "").replace(
        "    end: hangup", "    end: hangup\n    goto: ask"
    )
    found = problems(text)
    assert (
        "flows/test.yaml:4: node 'ask' waits for an answer but has no 'on_fail' (nor does 'defaults')"
        in found
    )
    assert any(p.startswith("flows/test.yaml:9: node 'bye' needs exactly one of") for p in found)


def test_loop_of_nodes_that_never_wait_is_refused() -> None:
    text = VALID + "  a:\n    say: x\n    goto: b\n  b:\n    say: y\n    goto: a\n"
    text = text.replace("        goto: bye\n", "        goto: a\n")
    found = problems(text)
    assert any("loop without waiting" in p for p in found)


def test_yaml_syntax_and_repeated_keys_have_lines() -> None:
    assert problems("start: a\nnodes: [\n")[0].startswith("flows/test.yaml:")
    assert problems(VALID + "  bye:\n    say: again\n    end: hangup\n") == [
        "flows/test.yaml:14: key 'bye' repeated (first on line 11)"
    ]


def test_load_flow_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(VALID.replace("start: ask", "start: nowhere"))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert f"{path}:2: 'start' names no node: 'nowhere'" in str(caught.value)
