"""Walk the dialplan for many destination numbers: public calls reach the AI or a hangup, never a trunk."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from dialplan_walk import Step, UnmodelledDialplan, context, walk
from fsxml import REFERENCE_ENVIRONMENT, Preprocessed, section

from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
Preprocess = Callable[[Mapping[str, str]], Preprocessed]

# What the public context may execute: nothing that places or moves a call (``park`` only holds one).
PUBLIC_APPLICATIONS = {"set", "socket", "park", "hangup", "log"}
FORBIDDEN_DATA = ("sofia/", "gateway", "loopback/", "user/", "group/", "verto/", "rtc/", "originate")

DIDS = ["15551230001", "+15551230001", "442071230002", "+442071230002"]
NOT_DIDS = [
    "",
    "0",
    "911",
    "15551230000",
    "155512300011",
    "+15551230001 ",
    "15551230001;x=1",
    "+18005550199",
    "0114420712300",
    "011442071230002",
    "00442071230002",
    "*97",
    "*15551230001",
    "1000",
    "8000",
    "sofia/gateway/twilio/+18005550199",
    "sofia/external/18005550199@evil.example",
    "loopback/18005550199/default",
    "${sofia_contact(1000)}",
    "15551230001|sofia/gateway/vonage/+18005550199",
    "15551230001%0A",
    "\u0661\u0665\u0665\u0665",
]


def defaults() -> Settings:
    return Settings.model_validate({})


def controller_socket() -> str:
    return f"{defaults().controller_host}:{defaults().controller_port} async full"


def dialplan(result: Preprocessed) -> ET.Element:
    return section(result.parse(), "dialplan")


def public_steps(result: Preprocessed, number: str) -> list[Step]:
    return walk(context(dialplan(result), "public"), {"destination_number": number, "source": "mod_sofia"})


def unsafe(steps: list[Step]) -> list[Step]:
    """Steps that could place or move a call, or that the public context has no business running."""
    bad = []
    for step in steps:
        if (
            step.application not in PUBLIC_APPLICATIONS
            or (step.application == "socket" and step.data != controller_socket())
            or (step.application != "log" and any(token in step.data for token in FORBIDDEN_DATA))
        ):
            bad.append(step)
        elif step.application == "set" and "${" in step.data:
            bad.append(step)  # a value the caller could influence
    return bad


@pytest.mark.parametrize("number", DIDS + NOT_DIDS, ids=repr)
def test_no_public_number_reaches_anything_but_the_ai_or_a_hangup(loaded: Preprocessed, number: str) -> None:
    steps = public_steps(loaded, number)
    assert steps, "every public call must end somewhere explicit"
    assert not unsafe(steps)


@pytest.mark.parametrize("number", DIDS)
def test_configured_dids_reach_the_controller_as_sip_calls(loaded: Preprocessed, number: str) -> None:
    steps = [(s.application, s.data) for s in public_steps(loaded, number)]
    socket_at = steps.index(("socket", controller_socket()))
    assert ("set", "call_type=sip") in steps[:socket_at]


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("public", {"destination_number": "+15551230001", "source": "mod_sofia"}),
        ("default", {"destination_number": "8000", "source": "mod_verto"}),
        ("default", {"destination_number": "8000", "source": "mod_sofia"}),
    ],
    ids=["did", "verto", "sip-user"],
)
def test_a_call_whose_socket_goes_away_is_marked_and_kept_parked(
    loaded: Preprocessed, name: str, fields: dict[str, str]
) -> None:
    """Re-attach after a controller restart (docs/admin.md): the channel says it is ours before ``socket``;
    after it, ``park`` with a ``park_timeout`` set there (a park reads it once, so one set before ``socket``
    would be spent by the socket application's own park)."""
    pairs = [(s.application, s.data) for s in walk(context(dialplan(loaded), name), fields)]
    socket_at = pairs.index(("socket", controller_socket()))
    assert ("set", "callbridge_owned=true") in pairs[:socket_at]
    after = pairs[socket_at + 1 :]
    assert after[:2] == [("set", "park_timeout=30:NORMAL_TEMPORARY_FAILURE"), ("park", "")]
    assert not any(data.startswith("park_timeout=") for _, data in pairs[:socket_at])


@pytest.mark.parametrize("number", NOT_DIDS, ids=repr)
def test_other_public_numbers_are_refused(loaded: Preprocessed, number: str) -> None:
    applications = [s.application for s in public_steps(loaded, number)]
    assert "socket" not in applications
    assert applications[-1] == "hangup"


@pytest.mark.parametrize("did_pattern", [".*", "1555.*|.*", "(.*)"])
def test_even_a_match_everything_did_pattern_reaches_no_trunk(
    preprocess: Preprocess, did_pattern: str
) -> None:
    result = preprocess({**REFERENCE_ENVIRONMENT, "FREESWITCH_DIDS": did_pattern})
    for number in DIDS + NOT_DIDS:
        assert not unsafe(public_steps(result, number)), number


def test_the_walk_catches_a_route_to_a_gateway() -> None:
    # The check itself must be able to fail: a vanilla-style "call out" extension in public.
    rogue = ET.fromstring(
        """<context name="public">
             <extension name="outbound"><condition field="destination_number" expression="^(\\+?1\\d{10})$">
               <action application="bridge" data="sofia/gateway/twilio/$1"/></condition></extension>
             <extension name="chain" continue="true"><condition field="destination_number" expression="^9">
               <anti-action application="transfer" data="$0 XML default"/></condition></extension>
           </context>"""
    )
    first = walk(rogue, {"destination_number": "+18005550199"})
    assert [(s.application, s.data) for s in unsafe(first)] == [
        ("bridge", "sofia/gateway/twilio/+18005550199")
    ]
    second = walk(rogue, {"destination_number": "0800"})
    assert [s.application for s in unsafe(second)] == ["transfer"]


def test_the_walk_refuses_what_it_does_not_model() -> None:
    odd = ET.fromstring(
        '<context name="x"><extension name="e"><condition field="destination_number" expression="1"'
        ' break="never"/></extension></context>'
    )
    with pytest.raises(UnmodelledDialplan):
        walk(odd, {"destination_number": "1"})


@pytest.mark.parametrize(
    ("source", "call_type"), [("mod_verto", "webrtc"), ("mod_sofia", "sip")], ids=["verto", "sip-user"]
)
def test_default_context_brings_users_to_the_ai(loaded: Preprocessed, source: str, call_type: str) -> None:
    extension = "8000"
    steps = walk(context(dialplan(loaded), "default"), {"destination_number": extension, "source": source})
    pairs = [(s.application, s.data) for s in steps]
    socket_at = pairs.index(("socket", controller_socket()))
    sets = [data for application, data in pairs[:socket_at] if application == "set"]
    assert f"call_type={call_type}" in sets
    assert [s for s in sets if s.startswith("call_type=")] == [f"call_type={call_type}"]


@pytest.mark.parametrize("number", ["18005550199", "+18005550199", "sofia/gateway/twilio/1", "9196"])
def test_default_context_reaches_no_trunk_either(loaded: Preprocessed, number: str) -> None:
    for source in ("mod_verto", "mod_sofia"):
        steps = walk(context(dialplan(loaded), "default"), {"destination_number": number, "source": source})
        assert not unsafe(steps)
        assert [s.application for s in steps][-1] == "hangup"


def test_no_dialplan_file_names_a_gateway_or_bridges() -> None:
    for path in sorted((REPO / "dialplan").rglob("*.xml")):
        for node in ET.parse(path).iter():
            application = node.get("application", "")
            assert application not in {"bridge", "transfer", "execute_extension", "originate"}, path
            assert "sofia/gateway" not in node.get("data", ""), path
