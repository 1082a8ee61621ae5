"""Issue 16 item 1: the controller dies mid-call, the call parks, a new controller takes it back.

The stand-in runs the shape of the shipped DID extension (dialplan/public/10_callbridge_dids.xml, checked
by tests/config): mark the channel, ``socket``, then ``park`` with a ``park_timeout``. The first stack is
stopped without a drain while the caller is mid-conversation; a second one starts on the same controller
port, lists the parked channels over the inbound event socket and transfers the call back into its
extension. The caller's next answer is heard by the restored flow, and the call ends normally with one
record holding the events and turns of both halves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import pytest

from app.control.reclaim import Reclaimer, reclaim_when_connected
from app.control.resume import RESUME_LINE
from app.demo import make_caller_wav
from app.esl.inbound import InboundClient
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.wiring import Stack
from tests.stack import stack_settings

DID = "15551230001"
FLOW = """\
name: test-reattach
greeting: Hello.
start: name
defaults:
  retries: 0
  on_fail: bye
nodes:
  name:
    say: What is your name?
    routes:
      - match: anything
        goto: colour
  colour:
    say: What is your favourite colour?
    routes:
      - match: anything
        goto: thanks
  thanks:
    say: Thank you. Goodbye.
    end: hangup
  bye:
    say: Bye.
    end: hangup
"""


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.05)


@pytest.fixture
def esl(switch: FakeSwitch) -> Iterator[InboundClient]:
    client = InboundClient("127.0.0.1", switch.esl_port, switch.password)
    client.start()
    yield client
    client.stop()


def test_a_call_survives_a_controller_restart_and_ends_with_one_record(
    tmp_path: Path, switch: FakeSwitch, esl: InboundClient
) -> None:
    flow = tmp_path / "reattach.yaml"
    flow.write_text(FLOW)
    settings = stack_settings(tmp_path, flow, goodbye_text="Bye.", no_input_timeout="40", max_no_input="1")
    upgrade(settings.database_url)
    first_stack = Stack.build(settings)
    first_stack.start(advertise_bound_media=True)
    first: Stack | None = first_stack
    port = first_stack.controller_port
    switch.dialplan.add(
        "public",
        rf"^\+?{DID}$",
        [
            ("set", "call_type=sip"),
            ("set", "callbridge_direction=inbound"),
            ("set", "callbridge_owned=true"),
            ("socket", f"127.0.0.1:{port} async full"),
            ("set", "park_timeout=30:NORMAL_TEMPORARY_FAILURE"),
            ("park", ""),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ],
    )
    # The second answer comes long after the restart (a few seconds here): the restored flow hears it.
    caller = make_caller_wav(
        ((5.0, "My name is Ann."), (30.0, "Blue.")), tmp_path / "caller.wav", tail_s=20.0
    )
    second: Stack | None = None
    call = switch.place_call(destination=DID, caller_audio=caller, context="public")

    def agent_said() -> list[str]:
        return [t.text for t in first_stack.call_log.turns(call.uuid) if t.speaker == "agent"]

    try:
        _until(
            lambda: "What is your favourite colour?" in agent_said(),
            40,
            f"the second question: {agent_said()}",
        )
        first_stack.stop(grace=0)  # cut, not drained: its socket goes away with the call up
        first = None
        _until(lambda: switch.channels[call.uuid].get_var("current_application") == "park", 20, "the park")
        assert not call.hung_up.is_set()
        second = Stack.build(settings.model_copy(update={"controller_port": port}))
        second.start(advertise_bound_media=True)
        assert second.controller_port == port
        assert reclaim_when_connected(esl, wait=20) == [call.uuid]
        assert call.wait_ended(90)
        assert second.controller_finished(call.uuid, timeout=20)
        log = second.call_log
        record = log.get_call(call.uuid)
        assert record is not None
        assert (record.state, record.hangup_cause) == ("ended", "NORMAL_CLEARING")
        assert len([c for c in log.recent_calls(50) if c.uuid == call.uuid]) == 1
        events = [e.name for e in log.events(call.uuid)]
        assert "controller_shutdown" in events
        assert events.index("controller_shutdown") < events.index("reattached")
        assert events.count("audio_stream_connected") == 2  # one stream per half
        said = [(t.speaker, t.text) for t in log.turns(call.uuid)]
        agent = [text for speaker, text in said if speaker == "agent"]
        caller_turns = [text for speaker, text in said if speaker == "caller"]
        assert agent[-2:] == [RESUME_LINE, "Thank you. Goodbye."], said  # the flow went on where it was
        assert len(caller_turns) == 2, said
        assert "What is your name?" not in " ".join(agent[agent.index(RESUME_LINE) :])
        assert call.hangup_cause == "NORMAL_CLEARING"
    finally:
        if first is not None:
            first.stop(grace=0)
        if second is not None:
            second.stop()


def test_a_controller_already_running_takes_over_the_calls_a_draining_one_cuts(
    tmp_path: Path, switch: FakeSwitch
) -> None:
    """A rolling deploy: the old stack stops listening, the new one binds the port, the old one's drain
    gives up on the call (cut at once here); the call parks and the new one takes it back on CHANNEL_PARK."""
    flow = tmp_path / "reattach.yaml"
    flow.write_text(FLOW)
    settings = stack_settings(tmp_path, flow, goodbye_text="Bye.", no_input_timeout="60", max_no_input="1")
    upgrade(settings.database_url)
    old = Stack.build(settings)
    old.start(advertise_bound_media=True)
    port = old.controller_port
    switch.dialplan.add(
        "public",
        rf"^\+?{DID}$",
        [
            ("set", "call_type=sip"),
            ("set", "callbridge_owned=true"),
            ("socket", f"127.0.0.1:{port} async full"),
            ("set", "park_timeout=30:NORMAL_TEMPORARY_FAILURE"),
            ("park", ""),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ],
    )
    call = switch.place_call(destination=DID, context="public")
    new: Stack | None = None
    reclaimer = Reclaimer()
    esl = InboundClient(
        "127.0.0.1", switch.esl_port, switch.password, events=Reclaimer.EVENTS, on_event=reclaimer.on_event
    )
    esl.start()
    sweeper = gevent.spawn(reclaimer.run, esl)
    try:
        _until(
            lambda: "audio_stream_connected" in [e.name for e in old.call_log.events(call.uuid)],
            30,
            "call up",
        )
        _until(lambda: esl.connected.is_set() and esl.connections_made == 1, 20, "the event socket")
        gevent.sleep(2 * reclaimer.poll_seconds)  # its start-up sweep is done: it found nothing parked
        assert reclaimer.taken == []
        assert old.outbound is not None
        old.outbound.stop()  # the old controller takes no new calls...
        new = Stack.build(settings.model_copy(update={"controller_port": port, "no_input_timeout": 1.0}))
        new.start(advertise_bound_media=True)  # ...the new one listens on the same port...
        assert old.outbound.drain(0) == 1  # ...and the old one's drain cuts the call
        _until(lambda: reclaimer.taken == [call.uuid], 30, "the take-over")
        assert call.wait_ended(60)
        assert new.controller_finished(call.uuid, timeout=20)
        record = new.call_log.get_call(call.uuid)
        assert record is not None and (record.state, record.hangup_cause) == ("ended", "NORMAL_CLEARING")
        events = [e.name for e in new.call_log.events(call.uuid)]
        assert events.index("controller_shutdown") < events.index("reattached")
        agent = [t.text for t in new.call_log.turns(call.uuid) if t.speaker == "agent"]
        # The silent caller's no-input ends the flow from the question it was at ("What is your name?").
        assert agent[-2:] == [RESUME_LINE, "Bye."], agent
    finally:
        sweeper.kill()
        esl.stop()
        old.stop(grace=0)
        if new is not None:
            new.stop()
