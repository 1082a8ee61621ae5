"""Issue 16 item 1 for an originated call: its controller dies, the call parks, a new controller takes it back.

The dialler originates into the shipped ``callbridge_outbound`` extension (the stand-in's copy of it:
app/sim/shipped_dialplan.py). The first stack is stopped without a drain after the agent's greeting; the
channel parks, still ``callbridge_owned``, and is not hung up; a second stack on the same port takes it
back; the resumed agent says its goodbye. The dialler sees one hangup and the call log keeps one
outbound record. tests/realswitch/test_outbound_reattach.py holds the real switch to the same.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest

from app.control.reclaim import reclaim_when_connected
from app.control.resume import RESUME_LINE
from app.dialer.dialstring import OutboundCall
from app.dialer.hangups import HangupWatch
from app.dialer.single import CallOutcome, place_call
from app.esl.inbound import InboundClient
from app.sim.shipped_dialplan import route_originated_calls
from app.sim.switch import Endpoint, FakeSwitch
from app.store import upgrade
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW, caller_wav
from tests.polling import until
from tests.stack import stack_settings

__all__ = ["caller_wav"]


@pytest.fixture
def esl(switch: FakeSwitch) -> Iterator[tuple[InboundClient, HangupWatch]]:
    hangups = HangupWatch()
    client = InboundClient("127.0.0.1", switch.esl_port, switch.password, on_event=hangups.feed)
    client.start()
    assert client.wait_connected(10)
    yield client, hangups
    client.stop()


def test_an_originated_call_survives_a_controller_restart_with_one_record(
    tmp_path: Path, switch: FakeSwitch, esl: tuple[InboundClient, HangupWatch], caller_wav: Path
) -> None:
    client, hangups = esl
    settings = stack_settings(
        tmp_path, SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="20", max_no_input="1"
    )
    upgrade(settings.database_url)
    first: Stack | None = Stack.build(settings)
    assert first is not None
    first.start(advertise_bound_media=True)
    port = first.controller_port
    route_originated_calls(switch.dialplan, "127.0.0.1", port)
    switch.add_endpoint(r"twilio", Endpoint(result="answer", answer_delay=0.1, caller_audio=caller_wav))
    call = OutboundCall(
        uuid=str(uuid_module.uuid4()), number="+12125550123", gateways=("twilio",), timeout=10
    )
    log = first.call_log
    placing = gevent.spawn(place_call, client, log, call, hangups=hangups, wait_for_hangup=True)
    second: Stack | None = None
    try:
        until(lambda: [t.text for t in log.turns(call.uuid)] == ["Hello. Say something."], 20, "greeting")
        first.stop(grace=0)  # cut, not drained: its socket goes away with the call up
        first = None
        channel = switch.channels[call.uuid]
        until(lambda: channel.get_var("current_application") == "park", 10, "the park")
        assert channel.get_var("callbridge_owned") == "true"
        assert (channel.profile.destination_number, channel.profile.context) == (
            "callbridge_outbound", "callbridge_outbound"
        )  # fmt: skip
        assert not placing.ready() and not switch.calls[call.uuid].hung_up.is_set()
        second = Stack.build(settings.model_copy(update={"controller_port": port, "no_input_timeout": 1.0}))
        second.start(advertise_bound_media=True)
        assert reclaim_when_connected(client, wait=10) == [call.uuid]
        outcome: CallOutcome = placing.get(timeout=30)
        assert outcome.hangup is not None and outcome.hangup.cause == "NORMAL_CLEARING", outcome
        assert second.controller_finished(call.uuid, timeout=10)
        record = second.call_log.get_call(call.uuid)
        assert record is not None
        assert (record.direction, record.state, record.hangup_cause) == (
            "outbound",
            "ended",
            "NORMAL_CLEARING",
        )
        assert [c.uuid for c in second.call_log.recent_calls(50)].count(call.uuid) == 1
        events = [e.name for e in second.call_log.events(call.uuid)]
        assert events.index("controller_shutdown") < events.index("reattached"), events
        agent = [t.text for t in second.call_log.turns(call.uuid) if t.speaker == "agent"]
        assert agent == ["Hello. Say something.", RESUME_LINE, "Bye."], agent
    finally:
        placing.kill()
        if first is not None:
            first.stop(grace=0)
        if second is not None:
            second.stop()
