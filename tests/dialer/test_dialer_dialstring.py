"""Originate commands: only E.164 numbers and gateway names; CSV values cannot change the command."""

from __future__ import annotations

import re

import pytest

from app.dialer.dialstring import OutboundCall, originate_command
from app.domain import decode_call_variables as decode_variables
from app.esl.commands import UnsafeValue
from app.sim.originate import parse_dial_vars

UUID = "0b5c6f1e-9f51-4a4e-8f3c-2f6b8b3c5d11"
HOSTILE = [
    "Ann, origination_uuid=evil",
    "}sofia/gateway/evil/+19005550100|{",
    "'&socket(6.6.6.6:1 async full)'",
    '"quoted" \\ back',
    "line\nbreak\r\napi uuid_kill all",
    "${system(rm -rf /)}",
    "[x=y]^^:a:b",
    "Zoë 😀 %41",
]


def make(**overrides: object) -> OutboundCall:
    values: dict[str, object] = {
        "uuid": UUID,
        "number": "+12125550123",
        "gateways": ("twilio", "vonage"),
    }
    values.update(overrides)
    return OutboundCall(**values)  # type: ignore[arg-type]


def test_the_full_command() -> None:
    command = originate_command(make(campaign="c1", flow="reminder", caller_id_number="+12125550100"))
    assert command == (
        "originate {origination_uuid=" + UUID + ",ignore_early_media=true,originate_timeout=30,call_type=sip,"
        "callbridge_direction=outbound,callbridge_callee=+12125550123,"
        "origination_caller_id_number=+12125550100,callbridge_campaign=c1,callbridge_flow=reminder}"
        "sofia/gateway/twilio/+12125550123|sofia/gateway/vonage/+12125550123 "
        "callbridge_outbound XML callbridge_outbound"
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_inside_their_variable(value: str) -> None:
    command = originate_command(make(variables={"name": value, "note": value}))
    assert "\n" not in command and "\r" not in command
    # The extension is still ours and still the last three words; no value added a word of its own.
    assert command.endswith(" callbridge_outbound XML callbridge_outbound") and command.count(" ") == 4
    variables, dial = parse_dial_vars(command.removeprefix("originate ").rsplit(" ", 3)[0])
    assert dial == "sofia/gateway/twilio/+12125550123|sofia/gateway/vonage/+12125550123"
    assert variables["origination_uuid"] == UUID
    assert sorted(k for k in variables if k.startswith("cb_var_")) == ["cb_var_name", "cb_var_note"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.%-]*", variables[k]) for k in ("cb_var_name", "cb_var_note"))
    assert decode_variables(variables) == {"name": value, "note": value}


@pytest.mark.parametrize(
    "overrides",
    [
        {"number": "12125550123"},
        {"number": "+1212555012x"},
        {"number": "+1 212 555 0123"},
        {"number": "+12125550123|sofia/gateway/evil/+1900"},
        {"gateways": ("twilio/evil",)},
        {"gateways": ("a b",)},
        {"gateways": ()},
        {"variables": {"Bad Name": "x"}},
        {"variables": {"a,b": "x"}},
        {"flow": "x}y"},
        {"campaign": "c 1"},
        {"caller_id_number": "+1,2"},
        {"caller_id_name": "Ann'}"},
        {"uuid": "not-a-uuid"},
        {"amd": "hangup,evil=1"},
    ],
)
def test_unsafe_inputs_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(UnsafeValue):
        originate_command(make(**overrides))


def test_decode_reads_event_headers_too() -> None:
    assert decode_variables({"variable_cb_var_name": "Ann%2C%20B", "variable_other": "x"}) == {
        "name": "Ann, B"
    }


def test_answering_machine_screening_travels_to_the_controller() -> None:
    assert "callbridge_amd=voicemail" in originate_command(make(amd="voicemail"))
    assert "callbridge_amd" not in originate_command(make(amd="continue"))
    assert "callbridge_amd" not in originate_command(make())
