"""Re-attach after a controller restart (issue 16 item 1): finding parked calls, resuming a session."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.control import actions as a
from app.control.agent_inputs import input_from_detail
from app.control.callinfo import REATTACH_VARIABLE, call_info_from_channel
from app.control.phase import Phase
from app.control.reclaim import ParkedCall, parked_calls, parked_from_event, reclaim_parked_calls
from app.control.resume import RESUME_LINE, Restored, ResumingAgents, restore
from app.control.session import CallSession, SessionPolicy
from app.dialog import base as d
from app.dialog.flow_agent import FlowAgent
from app.dialog.flow_loader import load_flow
from app.esl.inbound import ApiError
from app.esl.protocol import Event, MessageReader, connect_reply_event
from app.store.records import EventRow, TurnRow

NOW = datetime(2026, 11, 27, 15, 15, 7, tzinfo=UTC)
POLICY = SessionPolicy(media_url="ws://127.0.0.1:8090")
UUID = "43bcabcc-aec3-4d78-b420-1ff46f22909f"
OTHER = "dd9aa131-d5c0-40ba-9f4e-14bd6cd5e7da"
SHORT_FLOW = Path(__file__).resolve().parents[1] / "integration" / "data" / "short.yaml"


def _fixture_rows(fs_fixtures: Path) -> str:
    """The real ``show channels as json`` body (inbound-esl.txt: two loopback legs executing park)."""
    messages = MessageReader().feed((fs_fixtures / "inbound-esl.received.txt").read_bytes())
    return next(m.body_text for m in messages if m.body_text.startswith('{"row_count"'))


def test_parked_calls_read_freeswitchs_real_show_channels_json(fs_fixtures: Path) -> None:
    body = _fixture_rows(fs_fixtures)
    assert json.loads(body)["row_count"] == 2
    assert parked_calls(body) == [ParkedCall(UUID, "9998", "default"), ParkedCall(OTHER, "9998", "default")]
    assert parked_calls('{"row_count":0}') == []
    assert parked_calls("-ERR no reply\n") == []
    row = {"uuid": UUID, "dest": "1", "context": "public", "application": "socket"}
    assert parked_calls(json.dumps({"row_count": 1, "rows": [row]})) == []  # another controller holds it


def test_only_our_parked_calls_are_marked_and_transferred_back(fs_fixtures: Path) -> None:
    sent: list[str] = []
    owned = {UUID: "true", OTHER: "_undef_"}

    def api(command: str) -> str:
        sent.append(command)
        if command == "show channels as json":
            return _fixture_rows(fs_fixtures)
        if command.startswith("uuid_getvar"):
            return owned[command.split()[1]]
        return "+OK\n"

    assert reclaim_parked_calls(api) == [UUID]
    assert sent == [
        "show channels as json",
        f"uuid_getvar {UUID} callbridge_owned",
        f"uuid_setvar {UUID} {REATTACH_VARIABLE} true",
        f"uuid_transfer {UUID} 9998 XML default",
        f"uuid_getvar {OTHER} callbridge_owned",  # not ours: left alone
    ]


def test_a_call_gone_meanwhile_is_skipped() -> None:
    row = {"uuid": UUID, "dest": "1", "context": "public", "application": "park"}

    def api(command: str) -> str:
        if command == "show channels as json":
            return json.dumps({"row_count": 1, "rows": [row]})
        raise ApiError("uuid_getvar: -ERR No such channel!")

    assert reclaim_parked_calls(api) == []


class _Turns:
    def __init__(self, rows: list[TurnRow] | Exception) -> None:
        self.rows = rows

    def turns(self, uuid: str) -> list[TurnRow]:
        if isinstance(self.rows, Exception):
            raise self.rows
        return self.rows


def _row(seq: int, speaker: str, text: str) -> TurnRow:
    return TurnRow(UUID, seq, speaker, text, None, NOW, False, None, None)


def test_restore_reads_the_turns_or_says_why_not() -> None:
    restored = restore(_Turns([_row(1, "agent", "Hello. Say something."), _row(2, "caller", "hi")]), UUID)
    assert restored.history == (d.Turn("agent", "Hello. Say something."), d.Turn("caller", "hi"))
    assert restore(_Turns(OSError("database away")), UUID) == Restored(error="OSError: database away")
    assert restore(None, UUID).error


@pytest.fixture(scope="module")
def connect_reply(fs_fixtures: Path) -> Event:
    messages = list(MessageReader().feed((fs_fixtures / "outbound-socket-call.received.txt").read_bytes()))
    return connect_reply_event(messages[0])


def test_a_reattached_session_neither_answers_nor_greets_it_apologises_and_listens(
    connect_reply: Event,
) -> None:
    info = replace(call_info_from_channel(connect_reply), answered=True, reattached=True)
    session = CallSession(info, POLICY)
    session.resumed = Restored((d.Turn("agent", "Say something."),))
    actions = session.start(NOW)
    assert session.phase is Phase.ACTIVE
    assert not [x for x in actions if isinstance(x, a.RunAgent | a.SendMsg | a.RecordAnswered)]
    events = [x.name for x in actions if isinstance(x, a.RecordEvent)]
    assert events == ["reattached"]
    apis = [x.tag for x in actions if isinstance(x, a.Api)]
    assert apis == ["stream_stop", "stream"]  # the old worker's stream may still be attached
    assert [x.text for x in actions if isinstance(x, a.Render)] == [RESUME_LINE]
    assert session.dialogue.history == [d.Turn("agent", "Say something.")]


def test_the_flow_goes_on_from_where_the_recorded_turns_left_it() -> None:
    flow = load_flow(SHORT_FLOW)

    class Flows:
        def agent_for(self, context: d.CallContext, _flow: str | None) -> d.Agent:
            return FlowAgent(flow, context)

    history = (d.Turn("agent", "Hello. Say something."), d.Turn("agent", RESUME_LINE))
    context = d.CallContext(uuid=UUID, history=history)
    agent = ResumingAgents(Flows()).agent_for(context, None)
    said = [x.text for x in agent.respond(context, d.Utterance("anything at all")) if isinstance(x, d.Say)]
    assert said == ["Bye."]  # at node "ask": its answer leads to "bye", not back to the greeting
    fresh = Flows().agent_for(replace(context, history=()), None)
    assert [x.text for x in fresh.respond(context, d.Utterance("hi")) if isinstance(x, d.Say)] == [
        "Say something."
    ]


def _park_event(application: str, owned: str | None = "true") -> Event:
    headers = {
        "Event-Name": "CHANNEL_PARK",
        "Unique-ID": UUID,
        "Caller-Destination-Number": "+15551230001",
        "Caller-Context": "public",
        "variable_current_application": application,
    }
    if owned is not None:
        headers["variable_callbridge_owned"] = owned
    return Event(headers)


def test_only_a_dialplan_park_of_ours_is_taken_back_on_channel_park() -> None:
    assert parked_from_event(_park_event("park")) == ParkedCall(UUID, "+15551230001", "public")
    assert parked_from_event(_park_event("socket")) is None  # the socket app's own park: still controlled
    assert parked_from_event(_park_event("park", owned=None)) is None  # not ours
    assert parked_from_event(Event({"Event-Name": "CHANNEL_UNPARK"})) is None


DTMF_FLOW = """\
name: test-dtmf
greeting: Hello.
start: menu
defaults:
  retries: 0
  on_fail: done
nodes:
  menu:
    say: Press one.
    routes:
      - match: {dtmf: "1"}
        goto: second
  second:
    say: Second question.
    routes:
      - match: anything
        goto: done
  done:
    say: Done.
    end: hangup
"""


class _EventLog:
    """A call log's events, in memory: what RecordingAgent writes and ResumingAgents reads back."""

    def __init__(self) -> None:
        self.rows: list[EventRow] = []

    def add_event(self, uuid: str, name: str, at: datetime, detail: dict[str, object] | None = None) -> None:
        self.rows.append(EventRow(uuid, len(self.rows) + 1, name, at, detail))

    def events(self, uuid: str) -> list[EventRow]:
        return [row for row in self.rows if row.call_uuid == uuid]


def test_recorded_inputs_bring_a_flow_back_to_a_node_reached_by_keys(tmp_path: Path) -> None:
    path = tmp_path / "dtmf.yaml"
    path.write_text(DTMF_FLOW)
    flow = load_flow(path)

    class Flows:
        def agent_for(self, context: d.CallContext, _flow: str | None) -> d.Agent:
            return FlowAgent(flow, context)

    log = _EventLog()
    agents = ResumingAgents(Flows(), recorder=log, inputs=log)
    first = agents.agent_for(d.CallContext(uuid=UUID), None)  # a new call: no history
    list(first.respond(d.CallContext(uuid=UUID), d.CallStarted()))
    list(first.respond(d.CallContext(uuid=UUID), d.Dtmf("1")))
    assert [row.detail for row in log.rows] == [{"input": "call_started"}, {"input": "dtmf", "digits": "1"}]
    # The controller restarts. The caller's turns hold no keys; the recorded inputs do.
    history = (
        d.Turn("agent", "Hello. Press one."),
        d.Turn("agent", "Second question."),
        d.Turn("agent", RESUME_LINE),
    )
    context = d.CallContext(uuid=UUID, history=history)
    resumed = agents.agent_for(context, None)
    said = [x.text for x in resumed.respond(context, d.Utterance("blue")) if isinstance(x, d.Say)]
    assert said == ["Done."]
    assert len(log.rows) == 3  # the replay wrote nothing; the new input was recorded
    assert input_from_detail({"input": "dtmf", "digits": "1"}) == d.Dtmf("1")
    assert input_from_detail({"input": "something else"}) is None


def test_a_call_that_parked_before_its_answer_is_answered_and_greeted_as_usual(connect_reply: Event) -> None:
    info = replace(call_info_from_channel(connect_reply), answered=False, reattached=True)
    session = CallSession(info, POLICY)
    session.resumed = Restored()
    actions = session.start(NOW)
    assert [x.tag for x in actions if isinstance(x, a.SendMsg)] == ["answer"]
    assert not [x for x in actions if isinstance(x, a.Render)]
