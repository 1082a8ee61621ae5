"""Fuzzing the flow YAML: whatever an author (or an editor gone wrong) writes, the loader answers with a
:class:`~app.dialog.flow_loader.Flow` or a :class:`~app.dialog.flow_loader.FlowError` whose every problem
names the file and a line of it, never another exception and never a hang (aliases cannot expand).

Inputs: arbitrary text, arbitrary YAML documents, and the shipped flows with lines replaced, removed or
duplicated, which keeps most of the document valid so the checks past the syntax are reached.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.dialog.flow_loader import FlowError, parse_flow
from tests.fuzz.fuzzing import examples

FLOWS = sorted((Path(__file__).resolve().parents[2] / "app" / "dialog" / "flows").glob("*.yaml"))
SHIPPED = [path.read_text(encoding="utf-8") for path in FLOWS]
SOURCE = "flows/fuzzed.yaml"
YAML_PIECES = st.sampled_from(
    [
        "start: ask", "nodes:", "  ask:", "    say: Hi {name}", "    goto: ask", "    end: hangup",
        "    routes:", "      - match: yes", "        goto: bye", "      - match: {regex: 'a{99999999999}'}",
        "      - match: {number: {min: '²', max: 3}}", "    collect_dtmf: {max_digits: 99999999999999}",
        "    retries: 1" + "0" * 5000, "x: &a [*a]", "y: *undefined", "- [", "{", "'", ": :", "\t", "%TAG",
        "    transfer: sofia/gateway/x", "    say: '{{'", "    say: '{'", "    say: { }", "? [a]: b",
        "start: !!python/object:os.system x", "variables: {name: [1]}", "inputs: [1, {a: b}]",
    ]
)  # fmt: skip
NESTED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=15),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=25,
)


@st.composite
def mutated_flows(draw: st.DrawFn) -> str:
    """A shipped flow with a few of its lines replaced, removed or repeated."""
    lines = draw(st.sampled_from(SHIPPED)).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["replace", "remove", "repeat", "insert"]))
        if action == "replace":
            lines[index] = draw(YAML_PIECES | st.text(max_size=30))
        elif action == "remove":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        else:
            lines.insert(index, draw(YAML_PIECES))
        if not lines:
            break
    return "\n".join(lines) + "\n"


FLOW_TEXTS = st.one_of(
    mutated_flows(),
    NESTED.map(lambda value: yaml.safe_dump(value, allow_unicode=True)),
    st.lists(YAML_PIECES, max_size=12).map("\n".join),
    st.text(max_size=300),
)
LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def check(text: str) -> None:
    try:
        parse_flow(text, SOURCE)
    except FlowError as exc:
        lines = len(re.split(r"\r\n|\r|\n", text))  # as an editor counts them
        assert exc.problems, "a FlowError lists its problems"
        for problem in exc.problems:
            assert problem.source == SOURCE
            assert 1 <= problem.line <= lines, (problem, lines)
            assert problem.message.strip()
            assert f"{SOURCE}:{problem.line}: " in str(exc)


@settings(max_examples=examples(300))
@given(text=FLOW_TEXTS)
@example(text="\x850")  # found by fuzzing: PyYAML counts NEL as a line break, editors do not ("line 2" of 1)
@example(text="a: 1\u2028b: [\n")
@example(text="a: 1\r\rb: [")
@example(text="x: &a [*a]\n")  # found by fuzzing: a looping alias recursed until RecursionError
@example(text="[" * 3000)  # found by fuzzing: PyYAML's composer recursed until RecursionError
@example(text="a: &a [x, x, x, x, x, x, x, x, x]\n" + LAUGHS)  # 9^9 values: now refused, not expanded
@example(text="start: a\nnodes:\n  a:\n    say: hi\n    on_fail: a\n    routes:\n"
              "      - match: {regex: 'a{99999999999}'}\n        goto: a\n")  # fmt: skip  # OverflowError
@example(text="start: a\nnodes:\n  a:\n    say: hi\n    on_fail: a\n    routes:\n"
              "      - match: {number: {min: '²'}}\n        goto: a\n")  # fmt: skip  # int('²')
def test_any_flow_text_loads_or_says_where_it_is_wrong(text: str) -> None:
    check(text)


def test_the_shipped_flows_still_load() -> None:
    assert SHIPPED
    for text in SHIPPED:
        parse_flow(text, SOURCE)
