"""Verto's JSON-RPC messages (pure functions)."""

from __future__ import annotations

import json

import pytest

from app.sim import verto_rpc as rpc


def test_parses_an_invite_with_its_call_id_and_session() -> None:
    text = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "verto.invite",
            "params": {"sdp": "v=0", "dialogParams": {"callID": "abc-123"}, "sessid": "s1"},
            "id": 7,
        }
    )
    message = rpc.parse(text)
    assert isinstance(message, rpc.Request)
    assert (message.method, message.call_id, message.sessid, message.id) == (
        "verto.invite",
        "abc-123",
        "s1",
        7,
    )


def test_parses_a_response_from_the_browser() -> None:
    message = rpc.parse('{"jsonrpc":"2.0","id":3,"result":{"method":"verto.answer"}}')
    assert message == rpc.Response(3, {"method": "verto.answer"}, None)


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"jsonrpc":"1.0","method":"login"}', '{"jsonrpc":"2.0"}']
)
def test_rejects_what_is_not_json_rpc(text: str) -> None:
    with pytest.raises(rpc.VertoProtocolError):
        rpc.parse(text)


def test_server_requests_and_results_have_mod_verto_shapes() -> None:
    assert json.loads(rpc.answer(4, "c1", "v=0")) == {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "verto.answer",
        "params": {"callID": "c1", "sdp": "v=0"},
    }
    bye = json.loads(rpc.bye(5, "c1", "USER_BUSY"))
    assert bye["params"] == {"callID": "c1", "causeCode": 17, "cause": "USER_BUSY"}
    created = json.loads(rpc.call_created(9, "c1", "s1"))["result"]
    assert created == {"callID": "c1", "message": "CALL CREATED", "sessid": "s1"}
    failure = json.loads(rpc.error(1, rpc.CODE_AUTH_REQUIRED, "Authentication Required"))
    assert failure["error"] == {"code": -32000, "message": "Authentication Required"}


def test_splits_the_login_into_user_and_domain() -> None:
    assert rpc.user_and_domain("1000@example.com") == ("1000", "example.com")
    assert rpc.user_and_domain("1000") == ("1000", "")
