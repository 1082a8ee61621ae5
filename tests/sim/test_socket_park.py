"""When the outbound socket goes away mid-call, the stand-in does what FreeSWITCH 1.10 does.

mod_event_socket.c (v1.10.12), socket_function: in async mode the application parks; listener_run
clears CF_CONTROLLED when the connection ends, the park returns and the dialplan goes on with its next
application. switch_ivr.c, switch_ivr_park: ``park_timeout`` (``<seconds>[:<cause>]``) is read once when
a park starts and unset, and the park hangs up with that cause when it expires.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import pytest

from app.sim.switch import FakeSwitch
from tests.sim.esl_client import Controller, EslClient

PASSWORD = "s3cret"
DID = "15551234567"


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD, recordings_dir=tmp_path) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Controller]:
    ctl = Controller()
    yield ctl
    ctl.stop()


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.02)
    return True


def _kept_extension(switch: FakeSwitch, controller: Controller, park_timeout: str = "30") -> None:
    """The shape of dialplan/public/10_callbridge_dids.xml: mark, socket, then park with a timeout."""
    switch.dialplan.add(
        "public",
        rf"^\+?{DID}$",
        [
            ("set", "callbridge_owned=true"),
            ("socket", f"{controller.address} async full"),
            ("set", f"park_timeout={park_timeout}:NORMAL_TEMPORARY_FAILURE"),
            ("park", ""),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ],
    )


def _answered(client: EslClient) -> str:
    uuid = client.command("connect").headers["Unique-ID"]
    client.command("myevents")
    client.command("linger")
    client.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="answer")
    return uuid


def _rows(client: EslClient) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads(client.api("show channels as json")).get("rows", [])
    return rows


def test_a_dropped_socket_moves_the_dialplan_on_to_park_and_the_call_can_be_taken_back(
    switch: FakeSwitch, controller: Controller
) -> None:
    _kept_extension(switch, controller)
    call = switch.place_call(destination=DID)
    first = controller.client()
    uuid = _answered(first)
    first.close()  # the controller dies: no exit, no hangup
    inbound = EslClient.inbound(switch.esl_port, PASSWORD)
    assert _until(lambda: [row["application"] for row in _rows(inbound)] == ["park"])
    assert not call.hung_up.is_set()
    assert inbound.api(f"uuid_getvar {uuid} callbridge_owned") == "true"
    assert inbound.api(f"uuid_getvar {uuid} park_timeout") == "_undef_"  # read once by the park
    row = _rows(inbound)[0]
    assert (row["uuid"], row["dest"], row["context"]) == (uuid, DID, "public")
    assert inbound.api(f"uuid_transfer {uuid} {DID} XML public") == "+OK\n"
    assert _until(lambda: len(controller.clients) == 2)
    second = controller.clients[1]
    assert second.command("connect").headers["Unique-ID"] == uuid
    assert call.answered.is_set() and not call.hung_up.is_set()
    second.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
    assert call.wait_ended(10)
    assert call.hangup_cause == "NORMAL_CLEARING"
    inbound.close()


def test_an_unclaimed_parked_call_hangs_up_when_its_park_timeout_expires(
    switch: FakeSwitch, controller: Controller
) -> None:
    _kept_extension(switch, controller, park_timeout="1")
    call = switch.place_call(destination=DID)
    client = controller.client()
    _answered(client)
    client.close()
    assert call.wait_ended(15)
    assert call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"


def test_a_park_timeout_set_before_socket_is_spent_by_the_socket_apps_own_park(
    switch: FakeSwitch, controller: Controller
) -> None:
    switch.dialplan.add(
        "public",
        rf"^{DID}$",
        [("set", "park_timeout=1:USER_BUSY"), ("socket", f"{controller.address} async full"), ("park", "")],
    )
    call = switch.place_call(destination=DID)
    client = controller.client()
    _answered(client)
    assert call.wait_ended(15)  # the controller still holds the call: the timeout cuts it anyway
    assert call.hangup_cause == "USER_BUSY"
