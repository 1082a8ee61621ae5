"""Command builders: exact strings for what FreeSWITCH expects, and refusal of anything injectable."""

from __future__ import annotations

import pytest

from app.esl import commands as c
from app.esl.commands import UnsafeValue

UUID = "9ab210bd-0cd1-4de6-9a00-9ff1ee2f3ed1"


def test_builders_match_the_commands_of_the_real_capture() -> None:
    assert c.uuid_broadcast(UUID, "/srv/sounds/prompts/demo01/prompt_2s.wav") == (
        f"uuid_broadcast {UUID} /srv/sounds/prompts/demo01/prompt_2s.wav aleg"
    )
    assert c.uuid_break(UUID) == f"uuid_break {UUID} all"
    assert c.uuid_getvar(UUID, "playback_ms") == f"uuid_getvar {UUID} playback_ms"
    assert c.audio_stream_send_text(UUID, {"type": "playback", "on": True}) == (
        f"uuid_audio_stream {UUID} send_text '{{\"type\":\"playback\",\"on\":true}}'"
    )
    start = c.audio_stream_start(UUID, f"ws://127.0.0.1:8090/call/{UUID}", "mono", 16000, {"call_type": "sip"})
    assert start == (
        f"uuid_audio_stream {UUID} start ws://127.0.0.1:8090/call/{UUID} mono 16k '{{\"call_type\":\"sip\"}}'"
    )
    assert c.audio_stream_start(UUID, "ws://h:1/x", "mono", 8000).endswith(" mono 8k")
    assert c.audio_stream_start(UUID, "ws://h:1/x", "mono", 24000).endswith(" mono 24000")


def test_subscription_puts_custom_last() -> None:
    line = c.subscribe(["PLAYBACK_START", "CUSTOM", "DTMF"], ["mod_audio_stream::json"])
    assert line == "event plain PLAYBACK_START DTMF CUSTOM mod_audio_stream::json"
    assert c.subscribe([], ["a::b"], fmt="json") == "event json CUSTOM a::b"
    with pytest.raises(UnsafeValue):
        c.subscribe(["BAD NAME"])
    with pytest.raises(UnsafeValue):
        c.subscribe([])


@pytest.mark.parametrize(
    "build",
    [
        lambda: c.uuid_broadcast("not-a-uuid", "/tmp/a.wav"),
        lambda: c.uuid_broadcast(UUID.upper(), "/tmp/a.wav"),
        lambda: c.uuid_broadcast(UUID, "/tmp/a.wav\napi uuid_kill x"),
        lambda: c.uuid_broadcast(UUID, "relative.wav"),
        lambda: c.uuid_broadcast(UUID, "/tmp/it's.wav"),
        lambda: c.uuid_broadcast(UUID, "/tmp/a.wav", leg="aleg both"),
        lambda: c.uuid_kill(UUID, "NORMAL_CLEARING\n\napi status"),
        lambda: c.uuid_transfer(UUID, "1000 XML public"),
        lambda: c.uuid_send_dtmf(UUID, "12;3"),
        lambda: c.audio_stream_send_text(UUID, {"text": "it's"}),
        lambda: c.audio_stream_send_text(UUID, {"text": 'say "hi"'}),
        lambda: c.audio_stream_start(UUID, "http://x", "mono", 8000),
        lambda: c.audio_stream_start(UUID, "ws://x y", "mono", 8000),
        lambda: c.audio_stream_start(UUID, "ws://x", "mono", 11025),
        lambda: c.execute("answer;hangup"),
        lambda: c.execute("playback", "/tmp/a.wav\nevent-lock: true"),
        lambda: c.api("status\n\nexit"),
        lambda: c.auth("Clue Con"),
        lambda: c.channel_variables({"a": "x,b=y"}),
        lambda: c.channel_variables({"bad name": "x"}),
        lambda: c.originate({}, ["sofia/gateway/twilio/+1555 &park()"], "&park()"),
    ],
)
def test_injection_is_refused(build: object) -> None:
    with pytest.raises(UnsafeValue):
        build()  # type: ignore[operator]


def test_paths_with_spaces_are_quoted_and_free_text_is_made_safe() -> None:
    assert c.uuid_broadcast(UUID, "/var/spool/my prompts/a.wav").split(" ", 2)[2] == "'/var/spool/my prompts/a.wav' aleg"
    safe = c.plain_text('He said "it\'s ok" \\ bye\n')
    assert c.audio_stream_send_text(UUID, {"text": safe})


def test_originate_with_failover_and_socket() -> None:
    line = c.originate(
        {"origination_uuid": UUID, "call_type": "sip", "ignore_early_media": True, "origination_caller_id_name": "Call Bridge"},
        ["sofia/gateway/twilio/+15551234567", "sofia/gateway/vonage/+15551234567"],
        c.socket_application("127.0.0.1", 8084),
    )
    assert line == (
        f"originate {{origination_uuid={UUID},call_type=sip,ignore_early_media=true,"
        "origination_caller_id_name='Call Bridge'}sofia/gateway/twilio/+15551234567|"
        "sofia/gateway/vonage/+15551234567 '&socket(127.0.0.1:8084 async full)'"
    )


def test_sendmsg_headers() -> None:
    assert c.execute("answer") == ("sendmsg", {"call-command": "execute", "execute-app-name": "answer"})
    assert c.hangup_message("USER_BUSY") == ("sendmsg", {"call-command": "hangup", "hangup-cause": "USER_BUSY"})


def test_uuid_fileman_takes_only_freeswitch_file_commands() -> None:
    assert c.uuid_fileman(UUID, "pause") == f"uuid_fileman {UUID} pause"
    assert c.uuid_fileman(UUID, "seek:+2000") == f"uuid_fileman {UUID} seek:+2000"
    for bad in ("pause now", "seek:", "volume:x", "stop\nexit", ""):
        with pytest.raises(c.UnsafeValue):
            c.uuid_fileman(UUID, bad)
