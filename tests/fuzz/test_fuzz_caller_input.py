"""Fuzzing what the caller says and types, as it reaches a flow: the worker's transcript (any text the STT
engine writes, in any script) and DTMF digits (whatever the channel's ``DTMF-Digit`` header holds).

Property: the shipped flows answer every input with agent actions, never an exception (which the
controller would turn into a fallback line and a traceback in its log), whatever came before it.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.dialog.base import AgentAction, CallContext, CallStarted, Dtmf, Input, NoInput, Utterance
from app.dialog.factory import packaged_flow
from app.dialog.flow_agent import FlowAgent
from app.dialog.flow_loader import load_flow, parse_flow
from tests.fuzz.fuzzing import examples

UUID = "0b7e5d1c-2a3f-4e6d-9c8b-7a6f5e4d3c2b"
MONDAY_9AM = datetime(2025, 3, 3, 9, 0)
# Every kind of matcher, in a flow that keeps asking (the shipped flows use only some of them).
MATCHERS_FLOW = """
name: fuzz-matchers
start: count
defaults: {retries: 3, on_fail: bye}
nodes:
  count:
    say: How many?
    routes:
      - {match: {number: {min: 1, max: 99}}, capture: count, goto: pin}
      - {match: no, goto: bye}
  pin:
    say: Your PIN?
    routes:
      - {match: {digits: {min: 4, max: 6}}, capture: pin, goto: when}
      - {match: {keywords: [skip, later]}, goto: when}
  when:
    say: When?
    routes:
      - {match: datetime, capture: at, goto: day}
      - {match: {regex: '(\\d+)'}, goto: day}
  day:
    say: Which day?
    routes:
      - {match: date, capture: day, goto: hour}
      - {match: dtmf, goto: hour}
  hour:
    say: What time?
    routes:
      - {match: time, capture: hour, goto: bye}
      - {match: digits, goto: count}
  bye:
    say: Bye {count} {pin} {at} {day} {hour}.
    end: hangup
"""
FLOWS = {name: load_flow(packaged_flow(name)) for name in ("appointment_booking", "appointment_reminder")}
FLOWS["matchers"] = parse_flow(MATCHERS_FLOW, "matchers.yaml")
WORDS = st.sampled_from(
    ["yes", "no", "friday", "tomorrow", "half past two", "at 10", "twenty five", "one two three", "March 4th",
     "the 31st of February", "13 o'clock", "99999999999999999999", "²", "١٢", "noon", "quarter to", "Ada"]
)  # fmt: skip
UTTERANCES = st.one_of(st.lists(WORDS, max_size=6).map(" ".join), st.text(max_size=80))
DIGITS = st.one_of(st.text(alphabet="0123456789*#", max_size=8), st.text(max_size=8), st.just("9" * 5000))
INPUTS = st.lists(
    st.one_of(UTTERANCES.map(Utterance), DIGITS.map(Dtmf), st.just(NoInput())), min_size=1, max_size=8
)


@settings(max_examples=examples(150))
@given(flow=st.sampled_from(sorted(FLOWS)), inputs=INPUTS)
@example(flow="matchers", inputs=[Dtmf("²")])  # found by fuzzing: int('²') in the number matcher
@example(flow="matchers", inputs=[Dtmf("9" * 5000)])  # over int()'s digit limit
def test_a_flow_answers_any_caller_input(flow: str, inputs: list[Input]) -> None:
    context = CallContext(
        uuid=UUID, direction="outbound", caller="+15551234567",
        variables={"name": "Ada", "appointment_time": "Tuesday, March 4 at 10 AM"},
    )  # fmt: skip
    agent = FlowAgent(FLOWS[flow], context, lambda: MONDAY_9AM)
    for event in [CallStarted(), *inputs]:
        actions = list(agent.respond(context, event))
        assert all(isinstance(action, AgentAction) for action in actions)
