"""Runs a scripted :class:`~app.dialog.flow_model.Flow` for one call; never blocks, never guesses."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from app.dialog.base import (
    AgentAction,
    CallContext,
    CallStarted,
    CollectDtmf,
    Dtmf,
    Hangup,
    Input,
    MachineAnswered,
    NoInput,
    Say,
    Transfer,
    Utterance,
)
from app.dialog.flow_model import Flow, Node, Route
from app.dialog.templates import render

log = logging.getLogger(__name__)

DEFAULT_REPROMPT = "Sorry, I didn't catch that."
DEFAULT_NO_INPUT = "Are you still there?"
MAX_STEPS = 50  # nodes entered in one turn; the loader already rejects loops that never wait


class FlowAgent:
    """One call's walk through a flow. ``variables`` holds the call's values and everything captured."""

    def __init__(
        self, flow: Flow, context: CallContext, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        self.flow = flow
        self.clock = clock
        self.call = context.uuid
        self.node: Node | None = None
        self.finished = False
        self.variables: dict[str, str] = {
            **flow.defaults,
            "caller": context.caller or "",
            "callee": context.callee or "",
            "direction": context.direction,
            "call_type": context.call_type,
            **context.variables,
        }
        self._no_match = 0
        self._no_input = 0
        self._log = logging.LoggerAdapter(log, {"call": context.uuid})
        missing = [name for name in flow.inputs if not self.variables.get(name)]
        if missing:
            self._log.warning("call %s: flow %s lacks inputs %s", context.uuid, flow.name, ", ".join(missing))

    def rehearse(self, context: CallContext, event: Input) -> list[str]:
        """What :meth:`respond` would say to ``event``, run on a copy: this walk does not move."""
        trial = copy.copy(self)
        trial.variables = dict(self.variables)
        return [action.text for action in trial.respond(context, event) if isinstance(action, Say)]

    def respond(self, context: CallContext, event: Input) -> Iterator[AgentAction]:
        """Yield the actions for ``event``: the whole turn at once, as a list iterator."""
        if self.finished:
            return iter(())
        actions: list[AgentAction] = []
        if isinstance(event, MachineAnswered):
            if self.flow.voicemail:
                actions.append(Say(self._render(self.flow.voicemail)))
            actions.append(Hangup("NORMAL_CLEARING"))
            self.finished = True
        elif isinstance(event, CallStarted):
            if self.flow.greeting:
                actions.append(Say(self._render(self.flow.greeting)))
            self._enter(self.flow.start, actions)
        elif self.node is None:
            self._log.warning(
                "call %s: input %r before the call started; starting the flow", context.uuid, event
            )
            self._enter(self.flow.start, actions)
        elif isinstance(event, NoInput):
            self._on_no_input(self.node, actions)
        else:
            self._on_answer(self.node, event, actions)
        return iter(actions)

    def _on_answer(self, node: Node, answer: Utterance | Dtmf, actions: list[AgentAction]) -> None:
        now = self.clock()
        for route in node.routes:
            captured = route.matcher.match(answer, now)
            if captured is None:
                continue
            self._log.info("call %s: node %s matched route at line %d", self.call, node.name, route.line)
            if route.capture:
                self.variables[route.capture] = captured.value
                for key, value in captured.extra.items():
                    name = f"{route.capture}_{key}" if key == "iso" else key
                    self.variables[name] = value
            elif captured.extra:
                self.variables.update({k: v for k, v in captured.extra.items() if k != "iso"})
            self._take(route, actions)
            return
        self._no_match += 1
        if self._no_match > node.retries:
            self._fail(node, actions)
            return
        actions.append(Say(self._render(f"{node.reprompt or DEFAULT_REPROMPT} {node.say}")))
        self._ask_for_keys(node, actions)

    def _on_no_input(self, node: Node, actions: list[AgentAction]) -> None:
        self._no_input += 1
        if self._no_input > node.retries:
            self._fail(node, actions)
            return
        actions.append(Say(self._render(f"{node.no_input or DEFAULT_NO_INPUT} {node.say}")))
        self._ask_for_keys(node, actions)

    def _take(self, route: Route, actions: list[AgentAction]) -> None:
        self.variables.update({k: self._render(v) for k, v in route.assign.items()})
        if route.say:
            actions.append(Say(self._render(route.say)))
        self._enter(route.goto, actions)

    def _fail(self, node: Node, actions: list[AgentAction]) -> None:
        self._log.info("call %s: node %s gave up after %d retries", self.call, node.name, node.retries)
        if node.on_fail is None:  # the loader requires on_fail on waiting nodes; stay safe anyway
            self.finished = True
            actions.append(Hangup())
            return
        self._enter(node.on_fail, actions)

    def _enter(self, name: str, actions: list[AgentAction]) -> None:
        for _ in range(MAX_STEPS):
            node = self.flow.nodes[name]
            self.node = node
            self._no_match = self._no_input = 0
            if node.say:
                actions.append(Say(self._render(node.say)))
            if node.hangup:
                self.finished = True
                actions.append(Hangup())
                return
            if node.transfer:
                self.finished = True
                actions.append(Transfer(self._render(node.transfer)))
                return
            if node.goto is None:
                self._ask_for_keys(node, actions)
                return
            name = node.goto
        self._log.error(
            "call %s: flow %s did not stop after %d nodes; hanging up", self.call, self.flow.name, MAX_STEPS
        )
        self.finished = True
        actions.append(Hangup("NORMAL_TEMPORARY_FAILURE"))

    def _ask_for_keys(self, node: Node, actions: list[AgentAction]) -> None:
        if node.collect is not None:
            c = node.collect
            actions.append(CollectDtmf(c.max_digits, c.timeout, c.terminator))

    def _render(self, template: str) -> str:
        return render(template, self.variables)


def flow_agent_factory(
    flow: Flow, clock: Callable[[], datetime] = datetime.now
) -> Callable[[CallContext], FlowAgent]:
    """An :data:`~app.dialog.base.AgentFactory` that runs ``flow`` on every call."""

    def make(context: CallContext) -> FlowAgent:
        return FlowAgent(flow, context, clock)

    return make
