"""What the controller renders ahead from an early transcript."""

from __future__ import annotations

from app.control.controller import rehearsed_sentences
from app.dialog.base import CallContext, CallStarted, Say, Utterance
from app.dialog.factory import packaged_flow
from app.dialog.flow_agent import FlowAgent
from app.dialog.flow_loader import load_flow

CONTEXT = CallContext(uuid="0b7e5d1c-2a3f-4e6d-9c8b-7a6f5e4d3c2b", direction="inbound")


class Streaming:
    """An agent that cannot rehearse (an LLM): nothing is rendered ahead."""

    def respond(self, context: CallContext, event: object) -> object:
        return iter([Say("Sure.")])


def test_a_flow_rehearses_its_first_sentences_and_an_llm_nothing() -> None:
    agent = FlowAgent(load_flow(packaged_flow("appointment_booking")), CONTEXT)
    greeting = [a.text for a in agent.respond(CONTEXT, CallStarted()) if isinstance(a, Say)]
    assert rehearsed_sentences(agent, CONTEXT, CallStarted()) == [
        "Thank you for calling Bright Smile Dental.",
        "I can book an appointment for you.",
    ]  # the first two of the greeting's four sentences
    assert " ".join(greeting).count("?") + " ".join(greeting).count(".") >= 4
    reply = rehearsed_sentences(agent, CONTEXT, Utterance("could I come in on friday"))
    assert reply and reply[0].startswith("What time on")
    assert rehearsed_sentences(Streaming(), CONTEXT, Utterance("tomorrow")) == []
