"""Builds the configured dialog brain from the settings: a scripted flow or the LLM agent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.config import Settings
from app.dialog.base import Agent, AgentFactory, CallContext
from app.dialog.flow_agent import flow_agent_factory
from app.dialog.flow_loader import load_flow
from app.dialog.flow_model import Flow
from app.dialog.llm_agent import LlmAgentConfig, llm_agent_factory
from app.dialog.llm_client import ChatClient, LlmConfig

log = logging.getLogger(__name__)

FLOWS_DIR = Path(__file__).resolve().parent / "flows"
DEFAULT_FLOW = FLOWS_DIR / "appointment_booking.yaml"
GENERIC_PROMPT = (
    "You are the friendly phone assistant of a small business. Help the caller with what they need."
)
BrainKind = Literal["flow", "llm"]


def packaged_flow(name: str) -> Path:
    """The path of a shipped example flow: ``appointment_booking`` or ``appointment_reminder``."""
    path = FLOWS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no packaged flow {name!r} in {FLOWS_DIR}")
    return path


@dataclass
class DialogBrain:
    """What the controller needs: ``new_agent(context)`` for every call, and ``close()`` at shutdown."""

    kind: BrainKind
    factory: AgentFactory
    flow: Flow
    description: str
    _client: ChatClient | None = field(default=None, repr=False)

    _flows: dict[str, AgentFactory] = field(default_factory=dict, repr=False)

    def new_agent(self, context: CallContext) -> Agent:
        return self.factory(context)

    def agent_for(self, context: CallContext, flow: str | None) -> Agent:
        """The agent of one call; a call may name a packaged flow (``callbridge_flow``) for the flow brain."""
        if flow is None or self.kind != "flow" or flow == self.flow.name:
            return self.factory(context)
        if flow not in self._flows:
            try:
                self._flows[flow] = flow_agent_factory(load_flow(packaged_flow(flow)))
            except FileNotFoundError:
                log.warning("call %s: no flow %r; using %s", context.uuid, flow, self.flow.name)
                self._flows[flow] = self.factory
        return self._flows[flow](context)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def build_brain(
    settings: Settings, kind: BrainKind = "flow", llm_url: str | None = None, llm_model: str | None = None
) -> DialogBrain:
    """The brain for ``kind``; ``llm_url``/``llm_model`` override the settings (``callbridge demo --llm-url``).

    Raises :class:`~app.dialog.flow_loader.FlowError` if the flow file is invalid.
    """
    flow = load_flow(settings.flow or DEFAULT_FLOW)
    if kind == "flow":
        log.info("dialog: scripted flow %s (%s)", flow.name, flow.source)
        return DialogBrain("flow", flow_agent_factory(flow), flow, f"flow {flow.name}")
    config = LlmConfig(
        base_url=(llm_url or settings.llm_base_url).rstrip("/"),
        model=llm_model or settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        connect_timeout=settings.llm_connect_timeout,
        first_token_timeout=settings.llm_first_token_timeout,
        total_timeout=settings.llm_total_timeout,
        max_tokens=settings.llm_max_tokens,
    )
    destinations = tuple(d.strip() for d in settings.llm_transfer_destinations.split(",") if d.strip())
    agent_config = LlmAgentConfig(
        system_prompt=settings.llm_system_prompt or flow.llm_prompt or GENERIC_PROMPT,
        fallback_text=settings.llm_fallback_text,
        transfer_destinations=destinations,
        fallback_transfer=settings.llm_fallback_transfer,
        max_failures=settings.llm_max_failures,
    )
    client = ChatClient(config)
    log.info("dialog: LLM %s at %s", config.model, config.url)
    return DialogBrain(
        "llm", llm_agent_factory(client, agent_config), flow, f"LLM {config.model} at {config.url}", client
    )
