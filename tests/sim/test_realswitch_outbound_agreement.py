"""An originated call as the socket sees it: the stand-in says what FreeSWITCH 1.10.12 said (realswitch-gateway-call).

The dialler's originate through a gateway, answered by the far end, then ``&socket``: the connect reply
must describe the channel as the real switch did, caller-ID flip included, since the controller reads the
caller and the callee from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from app.esl.protocol import Event, MessageReader, connect_reply_event
from app.sim.switch import Endpoint, FakeSwitch
from tests.sim.esl_client import Controller, EslClient

PASSWORD = "pw"
# Headers that describe the originated, answered, flipped leg (values differ by uuid and time elsewhere).
AGREED = (
    "Channel-Direction", "Call-Direction", "Answer-State", "Channel-Call-State", "Channel-State",
    "Channel-HIT-Dialplan", "Caller-Caller-ID-Name", "Caller-Caller-ID-Number", "Caller-Callee-ID-Name",
    "Caller-Callee-ID-Number", "Caller-Orig-Caller-ID-Number", "Caller-ANI", "Caller-Destination-Number",
    "Caller-Source", "Caller-Context", "Channel-Name", "variable_channel_cid_flipped",
    "variable_pre_transfer_caller_id_number", "variable_sip_gateway_name", "variable_sip_profile_name",
    "variable_sofia_profile_name", "variable_sip_gateway", "variable_callbridge_direction",
    "variable_callbridge_callee", "variable_origination_caller_id_number", "variable_current_application",
)  # fmt: skip


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Controller]:
    ctl = Controller()
    yield ctl
    ctl.stop()


def real_connect_reply(fs_fixtures: Path) -> Event:
    received = (fs_fixtures / "realswitch-gateway-call.received.txt").read_bytes()
    return connect_reply_event(next(iter(MessageReader().feed(received))))


def test_the_connect_reply_of_an_originated_gateway_call_matches_the_real_one(
    switch: FakeSwitch, controller: Controller, fs_fixtures: Path
) -> None:
    real = real_connect_reply(fs_fixtures)
    gateway = real.variable("sip_gateway_name") or ""
    switch.add_gateway(gateway)
    switch.add_endpoint(rf"sofia/gateway/{gateway}/", Endpoint(result="answer", answer_delay=0.05))
    uuid = real.unique_id
    esl = EslClient.inbound(switch.esl_port, PASSWORD)
    try:
        esl.command(
            "bgapi originate {"
            f"origination_uuid={uuid},ignore_early_media=true,originate_timeout=10,call_type=sip,"
            "callbridge_direction=outbound,callbridge_callee=+12125550123,"
            "origination_caller_id_number=+12125550100}"
            f"sofia/gateway/{gateway}/+12125550123 '&socket({controller.address} async full)'"
        )
        raw = controller.client().command("connect").headers  # URL-encoded, as on the wire
        reply = Event(headers={name: unquote(value) for name, value in raw.items()})
    finally:
        esl.close()
    mismatched = {
        name: (real.get(name), reply.get(name)) for name in AGREED if real.get(name) != reply.get(name)
    }
    assert not mismatched, mismatched  # (real, stand-in)
    assert real.get("Caller-Caller-ID-Number") == "+12125550123"  # the flip this is about
