"""The ``callbridge_outbound`` context, where originated calls run: ours, parked on a lost socket, unreachable.

Reachable only over the event socket (originate, uuid_transfer): no SIP profile, Verto login or other
context names it, so no caller can land in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dialplan_walk import context, walk
from fsxml import Preprocessed, section

from app.config import Settings
from app.domain import ORIGINATE_CONTEXT, ORIGINATE_EXTENSION

REPO = Path(__file__).resolve().parents[2]


def steps(loaded: Preprocessed, number: str) -> list[tuple[str, str]]:
    plan = context(section(loaded.parse(), "dialplan"), ORIGINATE_CONTEXT)
    return [(s.application, s.data) for s in walk(plan, {"destination_number": number})]


def test_an_originated_call_is_marked_handed_to_the_controller_and_parked_if_it_goes_away(
    loaded: Preprocessed,
) -> None:
    settings = Settings.model_validate({})
    target = f"{settings.controller_host}:{settings.controller_port} async full"
    assert steps(loaded, ORIGINATE_EXTENSION) == [
        ("set", "callbridge_owned=true"),
        ("socket", target),
        ("set", "park_timeout=30:NORMAL_TEMPORARY_FAILURE"),
        ("park", ""),
        ("hangup", "NORMAL_TEMPORARY_FAILURE"),
    ]


@pytest.mark.parametrize(
    "number", ["", "8000", "+18005550199", f"{ORIGINATE_EXTENSION}1", "x" + ORIGINATE_EXTENSION]
)
def test_anything_else_in_that_context_hangs_up(loaded: Preprocessed, number: str) -> None:
    assert steps(loaded, number) == [("hangup", "UNALLOCATED_NUMBER")]


def test_nothing_but_that_dialplan_file_names_the_context() -> None:
    naming = [
        path.relative_to(REPO).as_posix()
        for top in ("dialplan", "freeswitch-conf")
        for path in sorted((REPO / top).rglob("*.xml"))
        if ORIGINATE_CONTEXT in path.read_text()
    ]
    assert naming == ["dialplan/callbridge_outbound.xml"]
