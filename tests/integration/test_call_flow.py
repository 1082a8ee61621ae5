"""Calls through the controller, the media worker and the call log, with the stand-in as FreeSWITCH."""

from __future__ import annotations

import socket
from pathlib import Path

import gevent
import gevent.socket

from app.esl.connection import OutboundSocket
from app.sim.switch import FakeSwitch
from app.store import CallLog
from app.wiring import Stack


def socket_target(stack: Stack, mode: str = "async full") -> str:
    return f"127.0.0.1:{stack.controller_port} {mode}"


def place(switch: FakeSwitch, stack: Stack, caller_wav: Path | None, mode: str = "async full"):  # type: ignore[no-untyped-def]
    return switch.place_call(
        destination="+15557654321",
        caller_id_number="+15551230000",
        caller_id_name="Test Caller",
        socket=socket_target(stack, mode),
        variables={"call_type": "sip"},
        caller_audio=caller_wav,
        rate=8000,
        context="public",
    )


def names(stack: Stack, uuid: str) -> list[str]:
    return [event.name for event in stack.call_log.events(uuid)]


def test_caller_hangs_up_before_the_answer(stack: Stack, switch: FakeSwitch) -> None:
    calls = []
    controller = stack.outbound.application  # type: ignore[union-attr]

    def hang_up_first(sock: OutboundSocket) -> None:
        calls[0].hangup("ORIGINATOR_CANCEL")
        gevent.sleep(0)
        controller(sock)

    stack.outbound.application = hang_up_first  # type: ignore[union-attr]
    calls.append(place(switch, stack, None))
    assert calls[0].wait_ended(15)
    assert stack.controller_finished(calls[0].uuid, timeout=10)
    record = stack.call_log.get_call(calls[0].uuid)
    assert record is not None
    assert record.state in ("ended", "failed") and record.answered_at is None
    assert record.hangup_cause == "ORIGINATOR_CANCEL"


def test_dropped_esl_socket_leaves_a_complete_record_and_other_calls_go_on(
    stack: Stack, switch: FakeSwitch, caller_wav: Path
) -> None:
    sockets: list[OutboundSocket] = []
    controller = stack.outbound.application  # type: ignore[union-attr]

    def keep(sock: OutboundSocket) -> None:
        sockets.append(sock)
        controller(sock)

    stack.outbound.application = keep  # type: ignore[union-attr]
    doomed = place(switch, stack, caller_wav)
    healthy = place(switch, stack, caller_wav)
    assert doomed.wait_answered(10) and healthy.wait_answered(10)
    victim = next(s for s in sockets if s.channel is not None and s.channel.unique_id == doomed.uuid)
    victim.sock.shutdown(socket.SHUT_RDWR)

    assert stack.controller_finished(doomed.uuid, timeout=10)
    record = stack.call_log.get_call(doomed.uuid)
    assert record is not None and record.state == "failed" and record.ended_at is not None
    assert "esl_connection_lost" in names(stack, doomed.uuid)

    assert healthy.wait_ended(30)
    assert stack.controller_finished(healthy.uuid, timeout=10)
    good = stack.call_log.get_call(healthy.uuid)
    assert good is not None and good.state == "ended" and good.hangup_cause == "NORMAL_CLEARING"


def test_worker_unreachable_is_retried_then_the_caller_is_told_and_the_call_ends(
    settings, switch: FakeSwitch, caller_wav: Path  # type: ignore[no-untyped-def]
) -> None:
    from app.store import upgrade  # noqa: PLC0415

    upgrade(settings.database_url)
    stack = Stack.build(settings)
    stack.start()  # advertises settings.media_url, where nothing listens in this test
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    assert stack.controller is not None
    stack.controller.policy = stack.controller.policy.__class__(
        **{**stack.controller.policy.__dict__, "media_url": f"ws://127.0.0.1:{dead_port}"}
    )
    try:
        call = place(switch, stack, caller_wav)
        assert call.wait_ended(30)
        assert stack.controller_finished(call.uuid, timeout=10)
        record = stack.call_log.get_call(call.uuid)
        assert record is not None and record.state == "ended"
        assert record.hangup_cause == "NORMAL_CLEARING"
        seen = names(stack, call.uuid)
        # mod_audio_stream does not reconnect: the controller starts the stream again, then gives up
        # and tells the caller, instead of leaving them talking to nobody until the no-input rule.
        assert seen.count("audio_stream_restart") == 4 and seen.count("audio_stream_error") == 5, seen
        assert "audio_stream_given_up" in seen and "audio_stream_connected" not in seen
        said = [t.text for t in stack.call_log.turns(call.uuid) if t.speaker == "agent"]
        assert any("can no longer hear you" in text for text in said), said
    finally:
        stack.stop()


def test_socket_without_full_is_refused_politely(stack: Stack, switch: FakeSwitch) -> None:
    call = place(switch, stack, None, mode="async")
    assert call.wait_ended(15)
    assert stack.controller_finished(call.uuid, timeout=10)
    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.state == "ended" and record.answered_at is None
    assert "call_refused" in names(stack, call.uuid)


def test_garbage_on_the_controller_port_does_not_stop_calls(
    stack: Stack, switch: FakeSwitch, caller_wav: Path
) -> None:
    for garbage in (b"\x00\xff garbage\n\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b""):
        with gevent.socket.create_connection(("127.0.0.1", stack.controller_port), timeout=5) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            raw.settimeout(5)
            while raw.recv(4096):
                pass
    call = place(switch, stack, caller_wav)
    assert call.wait_ended(30)
    assert stack.controller_finished(call.uuid, timeout=10)
    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.state == "ended"


def test_shutdown_lets_calls_finish_then_records_the_ones_it_cuts(
    stack: Stack, switch: FakeSwitch, caller_wav: Path
) -> None:
    call = place(switch, stack, caller_wav)
    assert call.wait_answered(10)
    stack.stop(grace=0.3)  # the call is still in its greeting; stop() closes the stack's call log
    reopened = CallLog.open(stack.settings.database_url)
    try:
        record = reopened.get_call(call.uuid)
        assert record is not None and record.state == "failed" and record.ended_at is not None
        assert "controller_shutdown" in [e.name for e in reopened.events(call.uuid)]
    finally:
        reopened.close()
    assert call.wait_ended(15)  # FreeSWITCH carries on without the controller and hangs up
