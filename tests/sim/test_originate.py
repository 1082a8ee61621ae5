"""originate through bgapi on an inbound ESL connection: success, failure causes, failover."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator

import pytest

from app.sim.switch import Endpoint, FakeSwitch
from tests.sim.esl_client import Controller, EslClient
from tests.sim.transcript import Message

PASSWORD = "pw"


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD) as fake:
        yield fake


@pytest.fixture
def client(switch: FakeSwitch) -> Iterator[EslClient]:
    esl = EslClient.inbound(switch.esl_port, PASSWORD)
    esl.command("event plain BACKGROUND_JOB CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
    yield esl
    esl.close()


def bgapi_originate(client: EslClient, args: str) -> Message:
    reply = client.command(f"bgapi originate {args}")
    job = reply.headers["Job-UUID"]
    assert reply.headers["Reply-Text"] == f"+OK Job-UUID: {job}"
    return client.wait_event("BACKGROUND_JOB", Job_UUID=job, timeout=15)


def test_gateway_call_answers_and_looks_like_an_outbound_sofia_leg(
    switch: FakeSwitch, client: EslClient
) -> None:
    switch.add_endpoint(r"sofia/gateway/twilio/\+15551234567", Endpoint(result="answer", answer_delay=0.1))
    leg = str(uuid_module.uuid4())
    job = bgapi_originate(
        client,
        f"{{origination_uuid={leg},call_type=sip,origination_caller_id_number=+15550001111}}"
        "sofia/gateway/twilio/+15551234567 &park()",
    )
    assert job.event_body == f"+OK {leg}\n"
    assert job.event_header("Job-Command") == "originate"
    answer = client.wait_event("CHANNEL_ANSWER", Unique_ID=leg)
    assert answer.event_header("Call-Direction") == "outbound"
    assert answer.event_header("variable_sip_gateway_name") == "twilio"
    assert answer.event_header("variable_call_type") == "sip"
    assert answer.event_header("Caller-Caller-ID-Number") == "+15550001111"
    assert answer.event_header("Caller-Destination-Number") == "+15551234567"
    call = switch.find_call(leg)
    assert call is not None and call.answered.is_set()
    assert client.api(f"uuid_kill {leg}") == "+OK\n"
    assert call.wait_ended(5)


@pytest.mark.parametrize("cause", ["USER_BUSY", "CALL_REJECTED", "NORMAL_TEMPORARY_FAILURE"])
def test_far_end_failure_is_the_job_result(switch: FakeSwitch, client: EslClient, cause: str) -> None:
    switch.add_endpoint(r"\+15551234567", Endpoint(result=cause, answer_delay=0.05))
    job = bgapi_originate(client, "sofia/gateway/twilio/+15551234567 &park()")
    assert job.event_body == f"-ERR {cause}\n"
    complete = client.wait_event("CHANNEL_HANGUP_COMPLETE")
    assert complete.event_header("Hangup-Cause") == cause


def test_no_answer_after_originate_timeout(switch: FakeSwitch, client: EslClient) -> None:
    switch.add_endpoint(r"\+15551234567", Endpoint(result="answer", answer_delay=30))
    job = bgapi_originate(client, "{originate_timeout=1}sofia/gateway/twilio/+15551234567 &park()")
    assert job.event_body == "-ERR NO_ANSWER\n"


def test_unknown_gateway_fails_before_any_channel(client: EslClient) -> None:
    job = bgapi_originate(client, "sofia/gateway/nosuchgw/+15551234567 &park()")
    assert job.event_body == "-ERR INVALID_GATEWAY\n"
    assert "CHANNEL_CREATE" not in client.event_names()


def test_pipe_fails_over_to_the_backup_gateway(switch: FakeSwitch, client: EslClient) -> None:
    switch.add_endpoint(r"gateway/twilio/", Endpoint(result="NORMAL_TEMPORARY_FAILURE"))
    switch.add_endpoint(r"gateway/vonage/", Endpoint(result="answer"))
    job = bgapi_originate(client, "sofia/gateway/twilio/+1555|sofia/gateway/vonage/+1555 &park()")
    assert job.event_body.startswith("+OK ")
    leg = job.event_body.split()[1]
    call = switch.find_call(leg)
    assert call is not None
    assert call.variables["sip_gateway_name"] == "vonage"


def test_comma_rings_both_and_the_first_answer_wins(switch: FakeSwitch, client: EslClient) -> None:
    switch.add_endpoint(r"/slow$", Endpoint(result="answer", answer_delay=2))
    switch.add_endpoint(r"/fast$", Endpoint(result="answer", answer_delay=0.1))
    job = bgapi_originate(client, "sofia/gateway/twilio/slow,sofia/gateway/vonage/fast &park()")
    leg = job.event_body.split()[1]
    winner = switch.find_call(leg)
    assert winner is not None and winner.variables["sip_gateway_name"] == "vonage"
    cancelled = client.wait_event("CHANNEL_HANGUP_COMPLETE", Hangup_Cause="ORIGINATOR_CANCEL")
    assert cancelled.event_header("variable_sip_gateway_name") == "twilio"


def test_originate_socket_application_with_quotes(switch: FakeSwitch, client: EslClient) -> None:
    controller = Controller()
    try:
        switch.add_endpoint(r"\+1555", Endpoint())
        job = bgapi_originate(
            client, f"sofia/gateway/twilio/+1555 &socket('{controller.address} async full')"
        )
        leg = job.event_body.split()[1]
        data = controller.client().command("connect")
        assert data.headers["Unique-ID"] == leg
        assert data.headers["Socket-Mode"] == "async"
        assert data.headers["Control"] == "full"
    finally:
        controller.stop()


def test_unquoted_socket_arguments_are_split_like_freeswitch(switch: FakeSwitch, client: EslClient) -> None:
    controller = Controller()
    try:
        switch.add_endpoint(r"\+1555", Endpoint())
        bgapi_originate(client, f"sofia/gateway/twilio/+1555 &socket({controller.address} async full)")
        data = controller.client().command("connect")
        assert data.headers["Socket-Mode"] == "static"
        assert data.headers["Control"] == "single-channel"
    finally:
        controller.stop()


def test_loopback_to_a_missing_extension_is_no_route(client: EslClient) -> None:
    job = bgapi_originate(client, "loopback/4242/default &park()")
    assert job.event_body == "-ERR NO_ROUTE_DESTINATION\n"


def test_originate_usage_and_sync_api(switch: FakeSwitch, client: EslClient) -> None:
    assert client.api("originate").startswith("-USAGE: <call url>")
    switch.add_endpoint(r"\+1555", Endpoint(hangup_after=0.2))
    result = client.api("originate sofia/gateway/twilio/+1555 &park()")
    assert result.startswith("+OK ")
    call = switch.find_call(result.split()[1])
    assert call is not None
    assert call.wait_ended(5)
    assert call.hangup_cause == "NORMAL_CLEARING"
