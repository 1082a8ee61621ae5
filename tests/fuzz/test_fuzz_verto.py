"""Fuzzing the Verto JSON-RPC (the stand-in's mod_verto): its parser, and its WebSocket with a call up.

Properties: :func:`app.sim.verto_rpc.parse` gives a request or a response, or a
:class:`~app.sim.verto_rpc.VertoProtocolError`; every reply the endpoint sends to fuzzed frames is itself a
JSON-RPC 2.0 message; fuzzed logins, invites, byes and infos (logged in or not) create no channel; and
after them the endpoint still logs a well-formed browser in while a SIP call through the controller goes
on and ends with an intact record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.sim import verto_rpc as rpc
from app.sim.switch import FakeSwitch
from app.sim.verto import VertoEndpoint
from app.wiring import Stack
from tests.fuzz.fuzzing import RawWebSocket, call_in_progress, examples, exchange
from tests.fuzz.strategies import ESL_BYTES, JSON_VALUE, TEXT_FRAMES

USERS = {"1000": "right"}
METHODS = st.sampled_from(["login", "verto.invite", "verto.bye", "verto.info", "verto.modify", "verto.subscribe",
                           "fsapi", "", "LOGIN"])  # fmt: skip
PARAM_VALUES = st.one_of(JSON_VALUE, st.sampled_from(["1000", "1000@127.0.0.1", "right", "v=0\r\n", "8000"]))


@st.composite
def dialogs(draw: st.DrawFn) -> dict[str, object]:
    keys = st.sampled_from(["callID", "destination_number", "caller_id_number", "caller_id_name"])
    return {key: draw(PARAM_VALUES) for key in draw(st.sets(keys, max_size=4))}


@st.composite
def rpc_messages(draw: st.DrawFn) -> str:
    """A JSON-RPC message shaped like a browser's, with fuzzed members."""
    message: dict[str, object] = {"jsonrpc": draw(st.sampled_from(["2.0", "2.0", "1.0", 2]))}
    if draw(st.booleans()):
        message["method"] = draw(METHODS)
        keys = st.sampled_from(["login", "passwd", "sessid", "sdp", "dtmf", "cause", "callID"])
        params: dict[str, object] = {key: draw(PARAM_VALUES) for key in draw(st.sets(keys, max_size=5))}
        if draw(st.booleans()):
            params["dialogParams"] = draw(dialogs() | JSON_VALUE)
        message["params"] = params if draw(st.integers(0, 5)) else draw(JSON_VALUE)
    else:
        message[draw(st.sampled_from(["result", "error"]))] = draw(JSON_VALUE)
    if draw(st.booleans()):
        message["id"] = draw(JSON_VALUE)
    return json.dumps(message)


@settings(max_examples=examples(300))
@given(text=rpc_messages() | TEXT_FRAMES)
@example(text="[" * 5000)  # found by fuzzing: json.loads raised RecursionError out of the connection
def test_any_frame_parses_or_is_a_protocol_error(text: str) -> None:
    try:
        message = rpc.parse(text)
    except rpc.VertoProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(message, rpc.Request | rpc.Response)
    if isinstance(message, rpc.Request):
        assert isinstance(message.sessid, str) and isinstance(message.call_id, str)
        assert isinstance(message.dialog, dict)


@pytest.fixture(scope="module")
def verto(fuzz_switch: FakeSwitch, fuzz_stack: Stack) -> Iterator[VertoEndpoint]:
    target = f"127.0.0.1:{fuzz_stack.controller_port} async full"
    with VertoEndpoint(fuzz_switch, users=USERS, socket_target=target) as endpoint:
        yield endpoint


FRAMES = st.lists(
    st.one_of(
        rpc_messages().map(lambda text: ("text", text)),
        TEXT_FRAMES.map(lambda text: ("text", text)),
        st.binary(max_size=64).map(lambda data: ("bytes", data)),
        st.binary(min_size=1, max_size=16).map(lambda data: ("raw", data)),
    ),
    max_size=6,
)


def login(ws: RawWebSocket, password: str) -> dict[str, object]:
    ws.send_text(json.dumps({"jsonrpc": "2.0", "method": "login", "id": 1,
                             "params": {"login": "1000@127.0.0.1", "passwd": password, "sessid": "s-1"}}))  # fmt: skip
    while True:
        text = ws.receive_text()
        assert text is not None, "the endpoint closed on a login"
        reply = json.loads(text)
        if reply.get("id") == 1 and "method" not in reply:
            return dict(reply)


def test_fuzzed_frames_on_the_verto_websocket(
    verto: VertoEndpoint, fuzz_switch: FakeSwitch, fuzz_stack: Stack
) -> None:
    @settings(max_examples=examples(40))
    @given(handshake=st.one_of(st.none(), ESL_BYTES), logged_in=st.booleans(), frames=FRAMES)
    def browser_sends(handshake: bytes | None, logged_in: bool, frames: list[tuple[str, object]]) -> None:
        if handshake is not None:
            exchange(verto.port, b"GET / HTTP/1.1\r\n" + handshake)
            return
        ws = RawWebSocket(verto.port, "/")
        assert ws.accepted
        try:
            if logged_in:
                assert "result" in login(ws, "right")
            for kind, payload in frames:
                if kind == "text":
                    ws.send_text(str(payload))
                elif kind == "bytes":
                    ws.send_bytes(bytes(payload))  # type: ignore[call-overload]
                else:
                    ws.send_raw(bytes(payload))  # type: ignore[call-overload]
        except OSError:
            pass  # the endpoint dropped a broken WebSocket
        ws.drain()
        for text in ws.texts:  # every reply is JSON-RPC 2.0
            rpc.parse(text)
        assert not verto.peers, "a fuzzed invite made a WebRTC call"

    with call_in_progress(fuzz_switch, fuzz_stack):
        browser_sends()
        ws = RawWebSocket(verto.port, "/")
        assert ws.accepted
        assert login(ws, "wrong")["error"] == {
            "code": rpc.CODE_AUTH_FAILED,
            "message": "Authentication Failure",
        }
        assert login(ws, "right")["result"] == {"message": "logged in", "sessid": "s-1"}
        assert ws.close() == 1000


IDS = st.one_of(st.none(), st.integers(min_value=-(2**53), max_value=2**53), st.text(max_size=12))


@settings(max_examples=examples(200))
@given(request_id=IDS, call_id=st.text(max_size=40), sessid=st.text(max_size=20), text=st.text(max_size=60))
def test_what_the_endpoint_sends_parses_back(request_id: int | str | None, call_id: str, sessid: str,
                                             text: str) -> None:  # fmt: skip
    """Round trip: every message builder's output is the JSON-RPC the browser's parser expects."""
    for sent in (rpc.login_ok(request_id, sessid), rpc.call_created(request_id, call_id, sessid),
                 rpc.call_ended(request_id, call_id, sessid, text), rpc.info_sent(request_id, sessid),
                 rpc.error(request_id, rpc.CODE_INVALID, text)):  # fmt: skip
        response = rpc.parse(sent)
        assert isinstance(response, rpc.Response) and response.id == request_id
    for number, sent in enumerate((rpc.media(7, call_id, text), rpc.answer(8, call_id, text),
                                   rpc.answer(9, call_id, None), rpc.bye(10, call_id, text))):  # fmt: skip
        request = rpc.parse(sent)
        assert isinstance(request, rpc.Request) and request.id == 7 + number
        assert request.call_id == call_id
