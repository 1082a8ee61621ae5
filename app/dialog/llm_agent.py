"""The LLM brain: the call's history becomes Chat Completions messages, the streamed answer becomes
``Say`` pieces (one per sentence, as soon as each is complete), and tool calls become call actions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.dialog.base import (
    AgentAction,
    AgentError,
    CallContext,
    CallStarted,
    CollectDtmf,
    Dtmf,
    Hangup,
    Input,
    MachineAnswered,
    NoInput,
    Say,
    SendDtmf,
    Transfer,
    Turn,
    Utterance,
)
from app.dialog.llm_client import ChatClient, Completed, LlmFailure, TextPiece
from app.dialog.openai_wire import Message, ToolCall, function_tool
from app.dialog.sentences import SentenceSplitter
from app.dialog.templates import render

log = logging.getLogger(__name__)

PHONE_RULES = (
    "You are speaking on a phone call; your words are read aloud by a speech synthesiser. Answer in one to "
    "three short sentences of plain speech: no lists, markdown, emojis or URLs. The caller's words come from "
    "speech recognition and may contain mistakes. Use the tools to hang up, transfer the call, send or "
    "collect keypad tones; say a short sentence before you hang up or transfer."
)


@dataclass(frozen=True)
class LlmAgentConfig:
    system_prompt: str
    fallback_text: str = "Sorry, I'm having trouble hearing you right now. Could you say that again?"
    transfer_destinations: tuple[str, ...] = ()  # the only places the model may transfer to
    fallback_transfer: str | None = None  # after max_failures failed turns in a row, transfer here
    max_failures: int = 2
    max_history: int = 40  # turns sent to the model


def call_tools(transfer_destinations: Sequence[str]) -> list[dict[str, Any]]:
    """The tools offered to the model; ``transfer`` only when there is somewhere to transfer to."""
    tools = [
        function_tool("hang_up", "End the call after your goodbye.", {}, []),
        function_tool(
            "send_dtmf",
            "Press keys on the phone keypad towards the other side (to navigate an automated menu).",
            {"digits": {"type": "string", "description": "Keys 0-9, *, #", "pattern": "^[0-9*#]{1,32}$"}},
            ["digits"],
        ),
        function_tool(
            "collect_dtmf",
            "Ask the caller to type digits on the keypad (account numbers, PINs); the digits come back as "
            "the caller's next message.",
            {
                "max_digits": {"type": "integer", "minimum": 1, "maximum": 32},
                "timeout_seconds": {"type": "number", "minimum": 1, "maximum": 30},
            },
            ["max_digits"],
        ),
    ]
    if transfer_destinations:
        tools.append(
            function_tool(
                "transfer",
                "Transfer the caller to a person or department.",
                {"destination": {"type": "string", "enum": list(transfer_destinations)}},
                ["destination"],
            )
        )
    return tools


class LlmAgent:
    """One call's LLM brain. Stateless across turns apart from the count of failures in a row."""

    def __init__(self, client: ChatClient, config: LlmAgentConfig, call: str = "") -> None:
        self.client = client
        self.config = config
        self.call = call
        self.failures = 0
        self._tools = call_tools(config.transfer_destinations)

    def respond(self, context: CallContext, event: Input) -> Iterator[AgentAction]:
        """Stream the answer to ``event``: a ``Say`` per sentence as soon as it is complete, then the actions
        of the tool calls. On an API failure: :class:`AgentError`, then the spoken fallback."""
        splitter = SentenceSplitter()
        spoke = False
        try:
            for item in self.client.stream(self.messages(context, event), self._tools, context.uuid):
                if isinstance(item, TextPiece):
                    for sentence in splitter.feed(item.text):
                        spoke = True
                        yield Say(sentence)
                    continue
                rest = splitter.flush()
                if rest:
                    spoke = True
                    yield Say(rest)
                self.failures = 0
                yield from self._tool_actions(item, context.uuid)
                return
        except LlmFailure as failure:
            yield from self._fallback(failure, context.uuid, spoke)

    def _fallback(self, failure: LlmFailure, uuid: str, spoke: bool) -> Iterator[AgentAction]:
        self.failures += 1
        log.warning(
            "call %s: LLM turn failed (%s, %d in a row): %s",
            uuid,
            failure.kind,
            self.failures,
            failure.detail,
        )
        yield AgentError(failure.kind, failure.detail)
        yield Say(self.config.fallback_text)
        if self.config.fallback_transfer and self.failures >= self.config.max_failures:
            yield Transfer(self.config.fallback_transfer)

    def _tool_actions(self, completed: Completed, uuid: str) -> Iterator[AgentAction]:
        for call in completed.tool_calls:
            try:
                action = self._action_for(call)
            except ValueError as exc:
                log.warning("call %s: ignoring tool call %s: %s", uuid, call.name, exc)
                yield AgentError("bad_tool_call", f"{call.name}: {exc}")
                continue
            log.info("call %s: LLM tool %s -> %s", uuid, call.name, action)
            yield action

    def _action_for(self, call: ToolCall) -> AgentAction:
        arguments = call.parsed_arguments()
        if call.name == "hang_up":
            return Hangup()
        if call.name == "transfer":
            destination = str(arguments.get("destination", ""))
            if destination not in self.config.transfer_destinations:
                raise ValueError(
                    f"destination {destination!r} is not one of the allowed transfer destinations"
                )
            return Transfer(destination)
        if call.name == "send_dtmf":
            return SendDtmf(str(arguments.get("digits", "")))
        if call.name == "collect_dtmf":
            max_digits = int(arguments.get("max_digits", 1))
            timeout = float(arguments.get("timeout_seconds", 5.0))
            if not (1 <= max_digits <= 32 and 1 <= timeout <= 30):
                raise ValueError(f"max_digits {max_digits} or timeout {timeout} out of range")
            return CollectDtmf(max_digits, timeout, "#")
        raise ValueError("no such tool")

    # --- the prompt -----------------------------------------------------------------------------------

    def messages(self, context: CallContext, event: Input) -> list[Message]:
        """The Chat Completions messages for answering ``event`` (``context.history`` excludes it)."""
        variables = {**context.variables, "caller": context.caller or "", "callee": context.callee or ""}
        system = f"{render(self.config.system_prompt, variables)}\n\n{PHONE_RULES}\n\n{_call_facts(context)}"
        out: list[Message] = [{"role": "system", "content": system}]
        history = list(context.history)[-self.config.max_history :]
        current = _event_text(context, event)
        last = history[-1] if history else None
        if (
            isinstance(event, Utterance)
            and last
            and last.speaker == "caller"
            and last.text.strip() == event.text.strip()
        ):
            history.pop()  # the session recorded the utterance before asking us: do not repeat it
        out += [_turn_message(turn) for turn in history]
        out.append({"role": "user", "content": current})
        return out


def _call_facts(context: CallContext) -> str:
    lines = [f"This is an {context.direction} {context.call_type} call."]
    if context.caller:
        lines.append(f"Caller number: {context.caller}.")
    if context.variables:
        lines.append(
            "Known details: " + "; ".join(f"{k} = {v}" for k, v in sorted(context.variables.items())) + "."
        )
    return " ".join(lines)


def _turn_message(turn: Turn) -> Message:
    if turn.speaker == "caller":
        return {"role": "user", "content": turn.text}
    if turn.interrupted:
        heard = turn.heard_text if turn.heard_text is not None else ""
        return {"role": "assistant", "content": f"{heard} [interrupted by the caller; they heard only this]"}
    return {"role": "assistant", "content": turn.text}


def _event_text(context: CallContext, event: Input) -> str:
    if isinstance(event, Utterance):
        return event.text
    if isinstance(event, Dtmf):
        return f"[The caller pressed the keys: {event.digits}]"
    if isinstance(event, NoInput):
        return "[The caller has said nothing for a while.]"
    if isinstance(event, MachineAnswered):
        return "[An answering machine took the call and its beep has passed. Leave a short message, then hang up.]"
    assert isinstance(event, CallStarted)
    who = (
        "You placed this call and it was just answered"
        if context.direction == "outbound"
        else "The call was just answered"
    )
    return f"[{who}. Speak first: greet the caller briefly.]"


def llm_agent_factory(client: ChatClient, config: LlmAgentConfig) -> Callable[[CallContext], LlmAgent]:
    """An :data:`~app.dialog.base.AgentFactory` for the LLM brain; all calls share ``client``."""

    def make(context: CallContext) -> LlmAgent:
        return LlmAgent(client, config, context.uuid)

    return make
