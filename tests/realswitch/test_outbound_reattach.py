"""An originated call outlives its controller on the real switch, and a second controller takes it back.

``callbridge call`` originates into the shipped ``callbridge_outbound`` extension (not ``&socket``, which
runs one application and hangs up when the socket goes away). The first stack is stopped without a drain
while the agent waits for the callee; FreeSWITCH's ``socket`` application returns, the extension parks the
channel, still ``callbridge_owned``; a second stack on the same port lists it with ``show channels`` and
transfers it back into its extension, and the resumed agent carries on to its goodbye. The dialler sees
one hangup, the call log keeps one outbound record.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest

from app.config import Settings
from app.control.reclaim import parked_calls, reclaim_parked_calls
from app.control.resume import RESUME_LINE
from app.dialer.cli_common import connect
from app.dialer.dialstring import OutboundCall
from app.dialer.hangups import HangupWatch
from app.dialer.single import CallOutcome, place_call
from app.esl import commands
from app.esl.inbound import InboundClient
from app.store import upgrade
from app.wiring import Stack
from tests.polling import until
from tests.realswitch import sipp, sipp_callee
from tests.realswitch.gateway import loopback_gateway
from tests.realswitch.harness import RealSwitch
from tests.realswitch.tap import Tap

pytestmark = pytest.mark.skipif(
    sipp.SIPP is None, reason="sipp is not installed (apt-get install sip-tester)"
)

NUMBER = "+12125550123"


@pytest.fixture
def watched_esl(real_settings: Settings) -> Iterator[tuple[InboundClient, HangupWatch]]:
    hangups = HangupWatch()
    client = connect(real_settings, hangups.feed)
    yield client, hangups
    client.stop()


def test_an_originated_call_parks_when_its_controller_dies_and_is_taken_back(
    real_switch: RealSwitch,
    real_settings: Settings,
    tap: Tap,
    watched_esl: tuple[InboundClient, HangupWatch],
    caller_wav: Path,
    tmp_path: Path,
) -> None:
    client, hangups = watched_esl
    upgrade(real_settings.database_url)
    first: Stack | None = Stack.build(real_settings.model_copy(update={"no_input_timeout": 20.0}))
    assert first is not None
    first.start(advertise_bound_media=True)
    second: Stack | None = None
    callee = sipp_callee.answer(tmp_path / "sipp", audio_wav=caller_wav)
    try:
        with loopback_gateway(real_switch, callee.address) as gateway:
            call = OutboundCall(uuid=str(uuid_module.uuid4()), number=NUMBER, gateways=(gateway,), timeout=10)
            log = first.call_log
            placing = gevent.spawn(place_call, client, log, call, hangups=hangups, wait_for_hangup=True)
            until(lambda: [t.text for t in log.turns(call.uuid)] == ["Hello. Say something."], 20, "greeting")
            first.stop(grace=0)  # cut, not drained: its socket goes away with the call up
            first = None

            def parked() -> bool:
                return call.uuid in [p.uuid for p in parked_calls(client.api("show channels as json"))]

            until(parked, 15, "the park")
            assert client.api(commands.uuid_getvar(call.uuid, "callbridge_owned")).strip() == "true"
            assert not placing.ready()  # the dialler has seen no hangup
            second = Stack.build(real_settings.model_copy(update={"no_input_timeout": 1.0}))
            second.start(advertise_bound_media=True)
            assert reclaim_parked_calls(client.api) == [call.uuid]
            outcome: CallOutcome = placing.get(timeout=60)
            result = callee.result()
    finally:
        callee.stop()
        if first is not None:
            first.stop(grace=0)
    assert second is not None
    try:
        assert result.ok, result.output + result.messages
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
        assert len(tap.transcripts) == 2  # two socket connections: one per controller
    finally:
        second.stop()
