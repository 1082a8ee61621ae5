"""The chaos bench's tallying (bench/chaos_tally.py) on made-up witnesses; the bench itself is never run."""

from __future__ import annotations

from bench.chaos_report import verdicts
from bench.chaos_tally import (
    RESUME_LINE,
    Fault,
    LoggedCall,
    SeenCall,
    tally_calls,
    tally_contacts,
    tally_faults,
    tally_records,
)


def seen(uuid: str, **fields: object) -> SeenCall:
    base: dict[str, object] = {
        "direction": "inbound",
        "number": "15557654321",
        "created_at": 0.0,
        "answered_at": 1.0,
        "ended_at": 21.0,
        "cause": "NORMAL_CLEARING",
        "planned_s": 20.0,
        "controlled": True,
    }
    base.update(fields)
    return SeenCall(uuid=uuid, **base)  # type: ignore[arg-type]


def logged(uuid: str, **fields: object) -> LoggedCall:
    base: dict[str, object] = {
        "ended": True,
        "hangup_cause": "NORMAL_CLEARING",
        "event_counts": {"CHANNEL_ANSWER": 1, "CHANNEL_HANGUP_COMPLETE": 1},
        "event_seqs": (1, 2, 3),
        "turn_seqs": (1,),
        "agent_turns": ("Hello. Say something.",),
    }
    base.update(fields)
    return LoggedCall(uuid=uuid, **base)  # type: ignore[arg-type]


def test_records_lost_unended_duplicated_and_unknown_are_told_apart() -> None:
    calls = [
        seen("whole"),
        seen("lost"),
        seen("unended"),
        seen("hangup-twice"),
        seen("greeted-twice"),
        seen("seq-gap"),
        seen("resumed-once"),
        seen("never-controlled", controlled=False),  # the controller was down: nothing to record
    ]
    records = {
        "whole": logged("whole"),
        "unended": logged("unended", ended=False),
        "hangup-twice": logged("hangup-twice", event_counts={"CHANNEL_HANGUP_COMPLETE": 2}),
        "greeted-twice": logged("greeted-twice", agent_turns=("Hello. Say something.",) * 2),
        "seq-gap": logged("seq-gap", event_seqs=(1, 3)),
        "resumed-once": logged(
            "resumed-once",
            event_counts={"reattached": 1},
            agent_turns=("Hello. Say something.", RESUME_LINE),
        ),
        "ghost": logged("ghost"),
    }
    tally = tally_records(calls, records)
    assert tally.lost == ["lost"]
    assert tally.unended == ["unended"]
    assert sorted(tally.duplicated) == ["greeted-twice", "hangup-twice", "seq-gap"]
    assert tally.unknown == ["ghost"]


def test_the_apology_twice_after_one_reattach_is_a_duplicate() -> None:
    record = logged(
        "x", event_counts={"reattached": 1}, agent_turns=("Hello. Say something.", RESUME_LINE, RESUME_LINE)
    )
    assert tally_records([seen("x")], {"x": record}).duplicated == ["x"]


def test_contacts_answered_twice_and_never_dialled() -> None:
    out = {"direction": "outbound"}
    calls = [
        seen("a1", number="+1", **out),
        seen("a2", number="+1", **out),  # answered again: dialled twice
        seen("b1", number="+2", answered_at=None, **out),  # rang out, retried and answered: fine
        seen("b2", number="+2", **out),
        seen("in", number="+2"),  # an inbound call is not a campaign originate
    ]
    tally = tally_contacts(["+1", "+2", "+3"], calls)
    assert tally.dialled_twice == ["+1"]
    assert tally.never_dialled == ["+3"]
    assert (tally.originates, tally.redialled) == (4, 2)


def test_a_cut_call_is_blamed_on_the_fault_it_was_cut_under_only() -> None:
    calls = {
        # cut at 12 s (planned to 21 s): under the controller fault at 10 s, not the worker one at 2 s
        "cut": seen("cut", ended_at=12.0, playbacks=(1.0,), stream_connects=(1.0, 3.0)),
        "whole": seen("whole", playbacks=(1.0, 13.5), stream_connects=(1.0, 3.5)),
    }
    faults = [
        Fault("worker", 2.0, 2.5, ("cut", "whole")),
        Fault("controller", 10.0, 10.1, ("cut", "whole")),
    ]
    rows = tally_faults(faults, calls, run_end=30.0)
    worker, controller = rows["worker"], rows["controller"]
    assert (worker.in_progress, worker.survived, worker.dropped) == (2, 2, 0)
    assert worker.silences == [1.0, 1.5]  # until each call's stream was back
    assert (controller.survived, controller.dropped) == (1, 1)
    assert controller.silences == [3.5]  # until the agent spoke again (the apology)
    assert controller.within_target == 0
    lines = verdicts(rows, tally_records([], {}), tally_contacts([], []))
    assert any("MISSED" in line and "controller" in line and ": 0 %" in line for line in lines)
    assert any(line.startswith("- [x] met") and "media worker" in line for line in lines)


def test_a_call_shorter_than_planned_is_cut_and_one_without_controller_is_counted() -> None:
    calls = [
        seen("whole"),
        seen("short", ended_at=15.0),
        seen("parked-out", answered_at=None, ended_at=31.0, cause="NORMAL_TEMPORARY_FAILURE"),
        seen("no-agent", direction="outbound", planned_s=5.0, ended_at=1.1, controlled=False),
    ]
    inbound = tally_calls(calls, "inbound")
    assert (inbound.placed, inbound.answered, inbound.intact, inbound.cut, inbound.never_answered) == (
        3,
        2,
        1,
        1,
        1,
    )
    outbound = tally_calls(calls, "outbound")
    assert (outbound.cut, outbound.no_controller) == (1, 1)
