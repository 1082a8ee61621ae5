"""`callbridge call`: one outbound call through the stand-in to the real controller, recorded in the call log."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.dialer.dialstring import OutboundCall
from app.dialer.hangups import HangupWatch
from app.dialer.single import place_call
from app.esl.inbound import InboundClient
from app.sim.shipped_dialplan import route_originated_calls
from app.sim.switch import Endpoint, FakeSwitch
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW, caller_wav
from tests.stack import stack_settings

__all__ = ["caller_wav"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return stack_settings(tmp_path, SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="2.5", max_no_input="1")


@pytest.fixture
def esl(switch: FakeSwitch, stack: Stack) -> Iterator[tuple[InboundClient, HangupWatch]]:
    route_originated_calls(switch.dialplan, "127.0.0.1", stack.controller_port)
    hangups = HangupWatch()
    client = InboundClient("127.0.0.1", switch.esl_port, switch.password, on_event=hangups.feed)
    client.start()
    assert client.wait_connected(10)
    yield client, hangups
    client.stop()


def outbound(stack: Stack, **overrides: object) -> OutboundCall:
    values: dict[str, object] = {
        "uuid": str(uuid_module.uuid4()),
        "number": "+12125550123",
        "gateways": ("twilio", "vonage"),
        "timeout": 10,
        "caller_id_number": "+12125550100",
        "flow": "reminder",
        "variables": {"name": 'Ann, "the" {first}'},
    }
    values.update(overrides)
    return OutboundCall(**values)  # type: ignore[arg-type]


def test_answered_call_reaches_the_controller_and_the_agent_speaks_first(
    stack: Stack, switch: FakeSwitch, esl: tuple[InboundClient, HangupWatch], caller_wav: Path
) -> None:
    client, hangups = esl
    switch.add_endpoint(r"twilio", Endpoint(result="USER_BUSY"))  # the primary trunk fails: failover
    switch.add_endpoint(r"vonage", Endpoint(result="answer", answer_delay=0.1))
    call = outbound(stack)
    outcome = place_call(client, stack.call_log, call, hangups=hangups, wait_for_hangup=True)
    assert outcome.result.ok and outcome.hangup is not None
    assert outcome.hangup.gateway == "vonage"
    assert stack.controller_finished(outcome.result.channel_uuid or call.uuid, timeout=20)

    record = stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.direction, record.callee, record.gateway, record.state) == (
        "outbound",
        "+12125550123",
        "vonage",
        "ended",
    )
    events = [event.name for event in stack.call_log.events(call.uuid)]
    assert events[0] == "BACKGROUND_JOB"
    turns = stack.call_log.turns(call.uuid)
    assert turns and turns[0].speaker == "agent"  # nobody spoke before the agent's greeting


def test_failed_call_records_the_cause(
    stack: Stack, switch: FakeSwitch, esl: tuple[InboundClient, HangupWatch]
) -> None:
    client, hangups = esl
    switch.add_endpoint(r".", Endpoint(result="USER_BUSY"))
    call = outbound(stack)
    outcome = place_call(client, stack.call_log, call, hangups=hangups)
    assert (outcome.result.ok, outcome.result.cause) == (False, "USER_BUSY")
    record = stack.call_log.get_call(call.uuid)
    assert record is not None
    assert (record.state, record.hangup_cause, record.direction) == ("failed", "USER_BUSY", "outbound")
    detail = stack.call_log.events(call.uuid)[0]
    assert detail.name == "BACKGROUND_JOB"
