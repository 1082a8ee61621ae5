"""The shipped flows, driven turn by turn as the call session will drive them."""

from __future__ import annotations

from datetime import datetime

from app.dialog.base import (
    AgentAction,
    CallContext,
    CallStarted,
    CollectDtmf,
    Dtmf,
    Hangup,
    Input,
    NoInput,
    Say,
    Transfer,
    Utterance,
)
from app.dialog.factory import packaged_flow
from app.dialog.flow_agent import FlowAgent
from app.dialog.flow_loader import load_flow

UUID = "0b7e5d1c-2a3f-4e6d-9c8b-7a6f5e4d3c2b"
MONDAY_9AM = datetime(2025, 3, 3, 9, 0)


def run(agent: FlowAgent, context: CallContext, event: Input) -> list[AgentAction]:
    return list(agent.respond(context, event))


def booking() -> tuple[FlowAgent, CallContext]:
    context = CallContext(uuid=UUID, direction="inbound", caller="+15551234567")
    return FlowAgent(load_flow(packaged_flow("appointment_booking")), context, lambda: MONDAY_9AM), context


def reminder(**variables: str) -> tuple[FlowAgent, CallContext]:
    values = {"name": "Ada", "appointment_time": "Tuesday, March 4 at 10 AM", **variables}
    context = CallContext(uuid=UUID, direction="outbound", variables=values)
    return FlowAgent(load_flow(packaged_flow("appointment_reminder")), context, lambda: MONDAY_9AM), context


def said(actions: list[AgentAction]) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Say))


def test_booking_end_to_end_with_date_then_time_and_dtmf_yes() -> None:
    agent, ctx = booking()
    greeting = run(agent, ctx, CallStarted())
    assert said(greeting).startswith("Thank you for calling Bright Smile Dental. I can book an appointment")
    ask_time = run(agent, ctx, Utterance("could I come in on friday"))
    assert said(ask_time) == "What time on Friday, March 7 would suit you?"
    confirm = run(agent, ctx, Utterance("half past two please"))
    assert said(confirm).startswith("I have you down for Friday, March 7 at 2:30 PM. Shall I book that?")
    assert said(run(agent, ctx, Dtmf("1"))) == "What name should I put the appointment under?"
    done = run(agent, ctx, Utterance("Grace Hopper"))
    assert said(done).startswith("Thank you, Grace Hopper. You are booked for Friday, March 7 at 2:30 PM.")
    assert done[-1] == Hangup()
    assert agent.variables["hour"] == "at 2:30 PM" and agent.variables["day_iso"] == "2025-03-07"
    assert run(agent, ctx, Utterance("hello?")) == []  # the flow is over


def test_booking_what_the_demo_caller_says() -> None:
    agent, ctx = booking()
    run(agent, ctx, CallStarted())
    actions = run(
        agent, ctx, Utterance("Hi, I would like to book an appointment for tomorrow morning, please.")
    )
    assert said(actions).startswith("I have you down for Tuesday, March 4 in the morning.")
    assert agent.variables["appointment_iso"] == "2025-03-04"


def test_no_match_reprompts_then_gives_up_to_a_person() -> None:
    agent, ctx = booking()
    run(agent, ctx, CallStarted())
    first = run(agent, ctx, Utterance("bananas"))
    assert said(first).startswith("Sorry, I didn't catch that. I can book an appointment")
    run(agent, ctx, Utterance("bananas"))
    last = run(agent, ctx, Utterance("bananas"))  # retries: 2, so the third miss gives up
    assert said(last) == "Let me put you through to our reception. Please hold."
    assert last[-1] == Transfer("1000")


def test_no_input_reprompts_then_says_goodbye() -> None:
    agent, ctx = booking()
    run(agent, ctx, CallStarted())
    run(agent, ctx, Utterance("next wednesday"))
    assert said(run(agent, ctx, NoInput())).startswith("Are you still there? What time on Wednesday")
    run(agent, ctx, NoInput())
    last = run(agent, ctx, NoInput())
    assert said(last).startswith("I'm sorry I couldn't help this time.")
    assert last[-1] == Hangup()


def test_reminder_greets_with_csv_variables_and_collects_a_key() -> None:
    agent, ctx = reminder()
    actions = run(agent, ctx, CallStarted())
    assert said(actions).startswith(
        "Hello Ada, this is Bright Smile Dental calling about your appointment on Tuesday, March 4 at 10 AM."
    )
    assert actions[-1] == CollectDtmf(max_digits=1, timeout=5.0, terminator=None)


def test_reminder_confirm() -> None:
    agent, ctx = reminder()
    run(agent, ctx, CallStarted())
    actions = run(agent, ctx, Utterance("yes I'll be there"))
    assert (
        said(actions)
        == "Thank you, Ada. We look forward to seeing you on Tuesday, March 4 at 10 AM. Goodbye!"
    )
    assert actions[-1] == Hangup() and agent.variables["outcome"] == "confirmed"


def test_reminder_reschedule_by_key_then_new_time() -> None:
    agent, ctx = reminder()
    run(agent, ctx, CallStarted())
    assert said(run(agent, ctx, Dtmf("2"))) == "Which day and time would suit you better?"
    assert (
        said(run(agent, ctx, Utterance("thursday at 4 pm")))
        == "So that's Thursday, March 6 at 4 PM. Is that right?"
    )
    done = run(agent, ctx, Utterance("yes"))
    assert "moved your appointment to Thursday, March 6 at 4 PM" in said(done)
    assert (
        agent.variables["outcome"] == "rescheduled" and agent.variables["new_time_iso"] == "2025-03-06T16:00"
    )


def test_reminder_no_then_no_cancels_and_person_transfers() -> None:
    agent, ctx = reminder()
    run(agent, ctx, CallStarted())
    assert said(run(agent, ctx, Utterance("no I can't"))) == "Would you like to pick another time?"
    assert run(agent, ctx, Utterance("no thanks"))[-1] == Hangup()
    assert agent.variables["outcome"] == "cancelled"

    agent, ctx = reminder()
    run(agent, ctx, CallStarted())
    assert run(agent, ctx, Utterance("can I talk to a person"))[-1] == Transfer("1000")


def test_rehearsing_says_what_respond_would_and_moves_nothing() -> None:
    agent, ctx = booking()
    run(agent, ctx, CallStarted())
    rehearsed = agent.rehearse(ctx, Utterance("could I come in on friday"))
    assert rehearsed == ["What time on Friday, March 7 would suit you?"]
    assert agent.rehearse(ctx, Utterance("could I come in on friday")) == rehearsed  # still at the same node
    assert "day_iso" not in agent.variables
    # The caller went on and said something else: the real turn answers that, from the same place.
    real = run(agent, ctx, Utterance("could I come in on monday"))
    assert said(real) == "What time on Monday, March 10 would suit you?"
