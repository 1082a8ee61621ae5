"""Building the brain from the settings, as `callbridge demo --brain llm --llm-url URL` will."""

from __future__ import annotations

from app.config import load_settings
from app.dialog.base import CallContext, CallStarted, Say, Transfer, Utterance
from app.dialog.factory import build_brain
from tests.dialog.openai_server import DONE, Reply, fake_openai, finish_chunk, text_chunk, tool_chunk

UUID = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"


def test_flow_brain_is_the_booking_example_by_default() -> None:
    brain = build_brain(load_settings({}))
    actions = list(brain.new_agent(CallContext(uuid=UUID)).respond(CallContext(uuid=UUID), CallStarted()))
    assert brain.kind == "flow" and isinstance(actions[0], Say)
    assert actions[0].text == "Thank you for calling Bright Smile Dental."


def test_llm_brain_against_a_given_url_uses_the_settings() -> None:
    environ = {
        "CALLBRIDGE_LLM_API_KEY": "sk-from-env",
        "CALLBRIDGE_LLM_TRANSFER_DESTINATIONS": "1000, sip:desk@pbx.example.com",
        "CALLBRIDGE_LLM_MODEL": "small-model",
    }
    with fake_openai() as server:
        server.add(
            Reply([text_chunk("Connecting you now."), tool_chunk(0, call_id="t", name="transfer",
                      arguments='{"destination": "1000"}'), finish_chunk("tool_calls"), DONE])
        )  # fmt: skip
        brain = build_brain(load_settings(environ), "llm", llm_url=server.url)
        try:
            context = CallContext(uuid=UUID)
            actions = list(brain.new_agent(context).respond(context, Utterance("a person please")))
        finally:
            brain.close()
    assert actions == [Say("Connecting you now."), Transfer("1000")]
    assert server.headers[0]["Authorization"] == "Bearer sk-from-env"
    assert server.requests[0]["model"] == "small-model"
