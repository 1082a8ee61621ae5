"""The media worker dies mid-call and comes back: the controller restarts the stream and the call goes on."""

from __future__ import annotations

from pathlib import Path

from app.demo import make_caller_wav
from app.media.server import MediaServer
from app.sim.switch import FakeSwitch
from app.store import upgrade
from app.wiring import Stack
from tests.integration.conftest import SHORT_FLOW
from tests.polling import until
from tests.stack import stack_settings


def test_a_worker_that_dies_mid_call_is_reconnected_and_hears_the_caller(
    tmp_path: Path, switch: FakeSwitch
) -> None:
    settings = stack_settings(
        tmp_path, SHORT_FLOW, goodbye_text="Bye.", no_input_timeout="30", max_no_input="1"
    )
    upgrade(settings.database_url)
    stack = Stack.build(settings)
    stack.start(advertise_bound_media=True)
    # The caller answers the agent well after the worker is back (the restarts take at most 7.5 s).
    caller = make_caller_wav(((16.0, "Yes, I can hear you now."),), tmp_path / "caller.wav", tail_s=8.0)
    revived: MediaServer | None = None

    def events() -> list[str]:
        return [e.name for e in stack.call_log.events(call.uuid)]

    try:
        call = switch.place_call(
            destination="+15557654321",
            socket=f"127.0.0.1:{stack.controller_port} async full",
            variables={"call_type": "sip"},
            caller_audio=caller,
        )
        until(lambda: "audio_stream_connected" in events(), 30, "the first stream")
        host, port = stack.media.address
        stack.media.stop()  # the worker process dies: its connections close
        until(lambda: "audio_stream_disconnect" in events(), 30, f"mod_audio_stream::disconnect: {events()}")
        revived = MediaServer(host, port, stack.media.factory)  # supervised: back on the same port
        revived.start()
        assert call.wait_ended(90)
        assert stack.controller_finished(call.uuid, timeout=10)
    finally:
        if revived is not None:
            revived.stop()
        stack.stop()

    seen = [e.name for e in stack.call_log.events(call.uuid)]
    assert "audio_stream_restart" in seen and "audio_stream_recovered" in seen, seen
    assert "audio_stream_given_up" not in seen
    caller_turns = [t.text.lower() for t in stack.call_log.turns(call.uuid) if t.speaker == "caller"]
    assert any("hear you" in text for text in caller_turns), caller_turns
    record = stack.call_log.get_call(call.uuid)
    assert record is not None and record.hangup_cause == "NORMAL_CLEARING"
