"""The chaos bench's arithmetic: what the stand-in saw against what was recorded. Pure, no I/O.

Two witnesses are compared. The stand-in FreeSWITCH knows every channel (answered when, ended when and
why, every originate with its callee, every playback start and audio-stream connect); the call log and
the campaign store know what Callbridge wrote down. Times are seconds on one clock (the bench's).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# A call shorter than it was meant to be by more than this was cut (the stand-in's timers are exact to
# a few ms; the far end's hang-up and the bench's own timer both run in the stand-in's process).
CUT_TOLERANCE_S = 0.5
SILENCE_TARGET_S = 2.0
ONCE_EVENTS = ("CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE")
RESUME_LINE = "Sorry, where were we?"  # app.control.resume.RESUME_LINE: said once per re-attach


@dataclass(frozen=True)
class SeenCall:
    """One channel as the stand-in saw it."""

    uuid: str
    direction: str  # inbound (placed by the bench's callers) or outbound (a campaign's originate)
    number: str  # the DID called, or the campaign contact dialled
    created_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    cause: str | None = None
    planned_s: float | None = None  # how long the caller (or callee) meant to stay once answered
    controlled: bool = False  # the controller's socket connected at least once
    playbacks: tuple[float, ...] = ()
    stream_connects: tuple[float, ...] = ()

    @property
    def intact(self) -> bool:
        """Answered, and not ended before the person on the line meant to hang up."""
        if self.answered_at is None or self.planned_s is None:
            return False
        if self.ended_at is None:
            return True  # still up when the bench stopped looking
        return self.ended_at - self.answered_at >= self.planned_s - CUT_TOLERANCE_S


@dataclass(frozen=True)
class LoggedCall:
    """One call's record in the call log, reduced to what can be lost or doubled."""

    uuid: str
    ended: bool  # state ended with an end time
    hangup_cause: str | None
    event_counts: dict[str, int]
    event_seqs: tuple[int, ...]
    turn_seqs: tuple[int, ...]
    agent_turns: tuple[str, ...] = ()


@dataclass
class RecordTally:
    lost: list[str] = field(default_factory=list)  # the controller had the call; no record at all
    unended: list[str] = field(default_factory=list)  # a record whose end never arrived
    duplicated: list[str] = field(default_factory=list)  # an event or turn written twice
    unknown: list[str] = field(default_factory=list)  # a record of a call the stand-in never had


def tally_records(seen: list[SeenCall], logged: dict[str, LoggedCall]) -> RecordTally:
    """Every call the controller got must have one whole record, written once."""
    tally = RecordTally()
    known = {call.uuid for call in seen}
    for call in seen:
        if not call.controlled:
            continue
        record = logged.get(call.uuid)
        if record is None:
            tally.lost.append(call.uuid)
            continue
        if not record.ended and call.ended_at is not None:
            tally.unended.append(call.uuid)
        if _doubled(record):
            tally.duplicated.append(call.uuid)
    tally.unknown = sorted(set(logged) - known)
    return tally


def _doubled(record: LoggedCall) -> bool:
    if any(record.event_counts.get(name, 0) > 1 for name in ONCE_EVENTS):
        return True
    for seqs in (record.event_seqs, record.turn_seqs):
        if list(seqs) != list(range(1, len(seqs) + 1)):
            return True
    # The bench's flow never says a line twice; the apology comes once per re-attach.
    said = Counter(record.agent_turns)
    resumes = said.pop(RESUME_LINE, 0)
    return resumes > record.event_counts.get("reattached", 0) or any(count > 1 for count in said.values())


@dataclass
class ContactTally:
    contacts: int = 0
    dialled_twice: list[str] = field(default_factory=list)  # answered at the switch more than once
    never_dialled: list[str] = field(default_factory=list)  # the switch never got an originate for them
    originates: int = 0
    redialled: int = 0  # contacts originated more than once (retries of calls nobody answered)


def tally_contacts(contacts: list[str], seen: list[SeenCall]) -> ContactTally:
    """Compare the campaign's contacts with the originates the stand-in received."""
    outbound = [call for call in seen if call.direction == "outbound"]
    dialled = Counter(call.number for call in outbound)
    answered = Counter(call.number for call in outbound if call.answered_at is not None)
    return ContactTally(
        contacts=len(contacts),
        dialled_twice=sorted(number for number, count in answered.items() if count > 1),
        never_dialled=sorted(number for number in contacts if dialled[number] == 0),
        originates=len(outbound),
        redialled=sum(1 for count in dialled.values() if count > 1),
    )


@dataclass(frozen=True)
class Fault:
    kind: str
    started_at: float
    ended_at: float  # the thing is back (process started, listener open, server up)
    in_progress: tuple[str, ...]  # uuids of calls answered and not yet ended at started_at


@dataclass
class FaultRow:
    kind: str
    count: int = 0
    in_progress: int = 0
    survived: int = 0
    dropped: int = 0
    silences: list[float] = field(default_factory=list)  # per surviving call, seconds unheard or unanswered
    recover_audio: list[float] = field(default_factory=list)
    recover_campaign: list[float] = field(default_factory=list)
    never_recovered: int = 0

    @property
    def within_target(self) -> int:
        return sum(1 for gap in self.silences if gap <= SILENCE_TARGET_S)


def silence_after(kind: str, call: SeenCall, at: float) -> float | None:
    """How long the caller went unserved after a fault at ``at``: until the agent spoke again after a
    controller restart, until the call's audio stream was back after a worker crash; None for others."""
    marks = {"controller": call.playbacks, "worker": call.stream_connects}.get(kind)
    if marks is None:
        return None
    later = [mark for mark in marks if mark >= at]
    if later:
        return min(later) - at
    end = call.ended_at
    return None if end is None else end - at


def tally_faults(faults: list[Fault], seen: dict[str, SeenCall], run_end: float) -> dict[str, FaultRow]:
    """One row per fault kind. A cut call counts against the fault it was cut under (between that
    fault's start and the next one's), so each dropped call is blamed once."""
    rows: dict[str, FaultRow] = {}
    ordered = sorted(faults, key=lambda fault: fault.started_at)
    playbacks = sorted(mark for call in seen.values() for mark in call.playbacks)
    originates = sorted(call.created_at for call in seen.values() if call.direction == "outbound")
    for index, fault in enumerate(ordered):
        row = rows.setdefault(fault.kind, FaultRow(fault.kind))
        row.count += 1
        window_end = ordered[index + 1].started_at if index + 1 < len(ordered) else run_end
        for uuid in fault.in_progress:
            call = seen[uuid]
            row.in_progress += 1
            cut_here = (
                not call.intact
                and call.ended_at is not None
                and fault.started_at <= call.ended_at < window_end
            )
            if cut_here:
                row.dropped += 1
                continue
            row.survived += 1
            gap = silence_after(fault.kind, call, fault.started_at)
            if gap is not None:
                row.silences.append(gap)
        audio = _first_after(playbacks, fault.ended_at)
        campaign = _first_after(originates, fault.ended_at)
        if audio is not None:
            row.recover_audio.append(audio - fault.ended_at)
        if campaign is not None:
            row.recover_campaign.append(campaign - fault.ended_at)
        else:
            row.never_recovered += 1
    return rows


def _first_after(marks: list[float], at: float) -> float | None:
    return next((mark for mark in marks if mark >= at), None)


@dataclass
class CallTally:
    placed: int = 0
    answered: int = 0
    intact: int = 0
    cut: int = 0
    never_answered: int = 0
    no_controller: int = 0  # answered but the controller's socket never connected (it was down)


def tally_calls(seen: list[SeenCall], direction: str) -> CallTally:
    calls = [call for call in seen if call.direction == direction]
    answered = [call for call in calls if call.answered_at is not None]
    return CallTally(
        placed=len(calls),
        answered=len(answered),
        intact=sum(1 for call in answered if call.intact),
        cut=sum(1 for call in answered if not call.intact),
        never_answered=len(calls) - len(answered),
        no_controller=sum(1 for call in answered if not call.controlled),
    )
