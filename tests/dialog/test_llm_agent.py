"""The LLM agent against a real local HTTP server speaking the OpenAI streaming wire format."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.dialog.base import (
    AgentError,
    CallContext,
    CallStarted,
    CollectDtmf,
    Dtmf,
    Hangup,
    Say,
    SendDtmf,
    Transfer,
    Turn,
    Utterance,
)
from app.dialog.llm_agent import LlmAgent, LlmAgentConfig
from app.dialog.llm_client import ChatClient, LlmConfig
from tests.dialog.openai_server import (
    DONE,
    Cut,
    FakeOpenAI,
    Reply,
    WaitFor,
    error_reply,
    fake_openai,
    finish_chunk,
    role_chunk,
    text_chunk,
    tool_chunk,
)

UUID = "6a3c0d4e-1f2a-4b5c-8d9e-0f1a2b3c4d5e"
FALLBACK = "Sorry, one moment please."


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def make_agent(server: FakeOpenAI, **overrides: object) -> LlmAgent:
    llm = LlmConfig(
        base_url=server.url, model="test-model", api_key="sk-test", connect_timeout=2.0, first_token_timeout=0.5,
        total_timeout=10.0,
    )  # fmt: skip
    settings: dict[str, object] = {
        "system_prompt": "You remind {name} of an appointment.",
        "fallback_text": FALLBACK,
        "transfer_destinations": ("1000", "sip:reception@pbx.example.com"),
    }
    settings.update(overrides)
    return LlmAgent(ChatClient(llm), LlmAgentConfig(**settings), UUID)  # type: ignore[arg-type]


def context(**overrides: object) -> CallContext:
    values: dict[str, object] = {"uuid": UUID, "direction": "outbound", "variables": {"name": "Ada"}}
    values.update(overrides)
    return CallContext(**values)  # type: ignore[arg-type]


def test_first_sentence_is_yielded_before_the_response_ends(server: FakeOpenAI) -> None:
    release = threading.Event()
    server.add(
        Reply([
            role_chunk(), text_chunk("Hello Ada"), text_chunk(", this is the clinic."), text_chunk(" Can"),
            WaitFor(release),
            text_chunk(" you make it"), text_chunk(" on Tuesday?"), finish_chunk("stop"), DONE,
        ])
    )  # fmt: skip
    stream = make_agent(server).respond(context(), CallStarted())

    first = next(stream)  # the server is now blocked until `release`: the rest cannot have arrived
    assert first == Say("Hello Ada, this is the clinic.")
    assert not release.is_set()
    release.set()
    assert list(stream) == [Say("Can you make it on Tuesday?")]


def test_request_carries_model_prompt_variables_history_tools_and_key(server: FakeOpenAI) -> None:
    server.add(Reply([text_chunk("Sure."), finish_chunk("stop"), DONE]))
    history = (
        Turn(
            "agent", "Hello Ada, can you make it on Tuesday at ten?", interrupted=True, heard_text="Hello Ada"
        ),
        Turn("caller", "Who is this?"),
    )
    list(make_agent(server).respond(context(history=history), Utterance("Who is this?")))

    body, headers = server.requests[0], server.headers[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "test-model" and body["stream"] is True
    messages = body["messages"]
    assert messages[0]["role"] == "system" and "You remind Ada of an appointment." in messages[0]["content"]
    assert "name = Ada" in messages[0]["content"]
    assert messages[1] == {
        "role": "assistant",
        "content": "Hello Ada [interrupted by the caller; they heard only this]",
    }
    assert messages[2:] == [{"role": "user", "content": "Who is this?"}]  # not repeated from history
    names = {tool["function"]["name"] for tool in body["tools"]}
    assert names == {"hang_up", "transfer", "send_dtmf", "collect_dtmf"}
    transfer = next(t for t in body["tools"] if t["function"]["name"] == "transfer")
    assert transfer["function"]["parameters"]["properties"]["destination"]["enum"] == [
        "1000", "sip:reception@pbx.example.com"
    ]  # fmt: skip


def test_tool_calls_split_across_chunks_become_actions(server: FakeOpenAI) -> None:
    server.add(
        Reply(
            [
                role_chunk(),
                text_chunk("Let me put you through."),
                tool_chunk(0, call_id="call_a", name="send_dtmf", arguments=""),
                tool_chunk(1, call_id="call_b", name="trans", arguments=""),
                tool_chunk(0, arguments='{"dig'),
                tool_chunk(1, name="fer", arguments='{"destination": "sip:recep'),
                tool_chunk(0, arguments='its": "12#"}'),
                tool_chunk(1, arguments='tion@pbx.example.com"}'),
                finish_chunk("tool_calls"),
                DONE,
            ]
        )
    )
    actions = list(make_agent(server).respond(context(), Utterance("I want to talk to someone")))
    assert actions == [
        Say("Let me put you through."),
        SendDtmf("12#"),
        Transfer("sip:reception@pbx.example.com"),
    ]


def test_hang_up_and_collect_dtmf_tools(server: FakeOpenAI) -> None:
    server.add(Reply([tool_chunk(0, call_id="c1", name="collect_dtmf", arguments='{"max_digits": 4}'),
                      finish_chunk("tool_calls"), DONE]))  # fmt: skip
    server.add(Reply([text_chunk("Goodbye!"), tool_chunk(0, call_id="c2", name="hang_up", arguments="{}"),
                      finish_chunk("tool_calls"), DONE]))  # fmt: skip
    agent = make_agent(server)
    assert list(agent.respond(context(), Utterance("my account number"))) == [CollectDtmf(4, 5.0, "#")]
    assert list(agent.respond(context(), Dtmf("1234"))) == [Say("Goodbye!"), Hangup()]
    assert server.requests[1]["messages"][-1]["content"] == "[The caller pressed the keys: 1234]"


def test_transfer_outside_the_allowed_destinations_is_refused(server: FakeOpenAI) -> None:
    server.add(Reply([tool_chunk(0, call_id="c1", name="transfer", arguments='{"destination": "9011441234"}'),
                      finish_chunk("tool_calls"), DONE]))  # fmt: skip
    actions = list(make_agent(server).respond(context(), Utterance("transfer me")))
    assert len(actions) == 1 and isinstance(actions[0], AgentError)
    assert actions[0].kind == "bad_tool_call" and "9011441234" in actions[0].detail


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_exceeded"), (500, "server_error")])
def test_http_error_gives_agent_error_and_spoken_fallback(server: FakeOpenAI, status: int, kind: str) -> None:
    server.add(error_reply(status, f"upstream says {kind}", kind))
    actions = list(make_agent(server).respond(context(), Utterance("hello?")))
    assert actions == [AgentError(f"http_{status}", f"upstream says {kind}"), Say(FALLBACK)]


def test_stall_before_the_first_token_gives_fallback(server: FakeOpenAI) -> None:
    never = threading.Event()
    server.add(Reply([role_chunk(), WaitFor(never), text_chunk("too late"), finish_chunk("stop"), DONE]))
    try:
        actions = list(make_agent(server).respond(context(), Utterance("hello?")))
    finally:
        never.set()
    assert [type(a) for a in actions] == [AgentError, Say]
    assert isinstance(actions[0], AgentError) and actions[0].kind == "first_token"
    assert actions[1] == Say(FALLBACK)


def test_no_response_headers_at_all_gives_fallback(server: FakeOpenAI) -> None:
    never = threading.Event()
    server.add(Reply(stall_before_headers=never))
    try:
        actions = list(make_agent(server).respond(context(), Utterance("hello?")))
    finally:
        never.set()
    assert isinstance(actions[0], AgentError) and actions[0].kind == "first_token"
    assert actions[1:] == [Say(FALLBACK)]


def test_connection_cut_mid_stream_keeps_what_was_said_and_falls_back(server: FakeOpenAI) -> None:
    server.add(Reply([text_chunk("Your appointment is on Tuesday."), text_chunk(" At ten in the"), Cut()]))
    actions = list(make_agent(server).respond(context(), Utterance("when is it?")))
    assert actions[0] == Say("Your appointment is on Tuesday.")
    assert isinstance(actions[1], AgentError) and actions[1].kind == "stream_cut"
    assert actions[2:] == [Say(FALLBACK)]  # the half sentence is dropped


def test_repeated_failures_transfer_to_a_person(server: FakeOpenAI) -> None:
    for _ in range(2):
        server.add(error_reply(500, "down", "server_error"))
    agent = make_agent(server, fallback_transfer="1000", max_failures=2)
    first = list(agent.respond(context(), Utterance("hello?")))
    second = list(agent.respond(context(), Utterance("hello??")))
    assert not any(isinstance(a, Transfer) for a in first)
    assert second[-2:] == [Say(FALLBACK), Transfer("1000")]


def test_unreachable_server_gives_connect_failure() -> None:
    with fake_openai() as gone:
        url = gone.url
    agent = LlmAgent(
        ChatClient(LlmConfig(url, "m", connect_timeout=1.0)), LlmAgentConfig("hi", FALLBACK), UUID
    )
    actions = list(agent.respond(context(), Utterance("hello?")))
    assert isinstance(actions[0], AgentError) and actions[0].kind == "connect"
    assert actions[1:] == [Say(FALLBACK)]
