"""The outbound-socket transcripts recorded by the real-switch tier parse with our framing, and say what they say.

``realswitch-did-call``: a SIPp call to a DID through this repository's configuration, answered by the
stack, ending NORMAL_CLEARING. ``realswitch-broadcast-without-rtp``: the same with a caller whose RTP
stops; the last ``uuid_broadcast`` is accepted and never plays (the stand-in plays it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.esl.protocol import MessageReader, connect_reply_event, parse_event
from tests.realswitch.tap import joined, read_blocks

NAMES = ("realswitch-did-call", "realswitch-broadcast-without-rtp")


def events(received: bytes) -> list[str]:
    reader = MessageReader()
    messages = list(reader.feed(received))
    assert messages
    names = [parse_event(m).name for m in messages if m.is_event]
    assert connect_reply_event(messages[0]).unique_id  # the connect reply: the whole channel
    return names


@pytest.mark.parametrize("name", NAMES)
def test_each_transcript_is_its_received_file_with_markers(fs_fixtures: Path, name: str) -> None:
    received = b"".join(
        chunk for way, _, chunk in read_blocks(fs_fixtures / f"{name}.txt") if way == "received"
    )
    assert received == (fs_fixtures / f"{name}.received.txt").read_bytes()


def test_the_did_call_is_answered_played_and_hung_up_normally(fs_fixtures: Path) -> None:
    received = (fs_fixtures / "realswitch-did-call.received.txt").read_bytes()
    names = events(received)
    assert names.count("PLAYBACK_START") == names.count("PLAYBACK_STOP") == 3
    assert names[-1] == "CHANNEL_HANGUP_COMPLETE"
    assert b"Hangup-Cause: NORMAL_CLEARING" in received
    sent = joined(fs_fixtures / "realswitch-did-call.txt", "sent")
    assert sent.startswith("connect\n\n")
    assert len(re.findall(r"^api uuid_broadcast ", sent, re.MULTILINE)) == 3


def test_without_rtp_the_last_broadcast_is_accepted_and_never_plays(fs_fixtures: Path) -> None:
    received = (fs_fixtures / "realswitch-broadcast-without-rtp.received.txt").read_bytes()
    names = events(received)
    assert received.count(b"+OK Message sent") == 3
    assert names.count("PLAYBACK_START") == 2
    assert names.index("CHANNEL_HANGUP") > max(i for i, n in enumerate(names) if n == "PLAYBACK_STOP")
