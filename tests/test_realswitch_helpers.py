"""The real-switch tier's helpers that need no switch: SIPp scenarios and the mu-law its callers stream."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.realswitch import rtp_pcap, sipp


def test_mulaw_encodes_the_g711_reference_points() -> None:
    samples = np.array([0, -1, 32767, -32768, 8000, -8000], dtype=np.int16)
    # What the reference encoder (and Python 3.11's audioop.lin2ulaw) gives; checked over all 65536 values.
    assert list(sipp.mulaw_encode(samples)) == [0xFF, 0x7E, 0x80, 0x00, 0xA0, 0x20]


@pytest.mark.parametrize(
    ("hangs_up_after_ms", "final", "sends"),
    [
        (None, 200, ["INVITE", "ACK", "SIP/2.0 200 OK"]),
        (1500, 200, ["INVITE", "ACK", "BYE"]),
        (None, 404, ["INVITE", "ACK"]),
    ],
)
def test_every_scenario_is_well_formed(hangs_up_after_ms: int | None, final: int, sends: list[str]) -> None:
    text = sipp.scenario_xml(
        caller="15551230000", audio=Path("/tmp/caller.ulaw"), hangs_up_after_ms=hangs_up_after_ms, final=final
    )
    scenario = ET.fromstring(text.split("\n", 1)[1])
    sent = [(node.text or "").strip().split(" ", 1)[0] for node in scenario.iter("send")]
    assert [s if s != "SIP/2.0" else "SIP/2.0 200 OK" for s in sent] == sends
    received = [node.get("response") or node.get("request") for node in scenario.iter("recv")]
    assert str(final) in received
    if final == 200:
        assert any(node.get("rrs") == "true" for node in scenario.iter("recv"))  # ACK goes to the Contact


def test_a_gap_in_the_rtp_pauses_and_resumes_the_stream() -> None:
    text = sipp.scenario_xml(
        caller="15551230000", audio=Path("/tmp/caller.ulaw"), hangs_up_after_ms=None, rtp_gap=(2500, 5500)
    )
    scenario = ET.fromstring(text.split("\n", 1)[1])
    actions = [node.get("rtp_stream") for node in scenario.iter("exec")]
    assert actions == ["/tmp/caller.ulaw,-1,0", "pause", "resume"]
    assert [node.get("milliseconds") for node in scenario.iter("pause")] == ["2500", "5500"]


def test_a_key_press_is_one_rfc4733_event_inside_the_voice_stream(tmp_path: Path) -> None:
    voice = bytes(range(256)) * 25  # 6400 samples: 40 packets of 20 ms
    packets = rtp_pcap.rtp_packets(voice, key_at_ms=200, key="#")
    headers = [struct.unpack("!BBHII", p[:12]) for p in packets]
    assert len(packets) == 40  # the event takes the place of voice packets, not extra time
    assert [seq for _, _, seq, _, _ in headers] == list(range(40))  # one stream, no gap
    assert {ssrc for *_, ssrc in headers} == {rtp_pcap.SSRC}
    kinds = [second & 0x7F for _, second, _, _, _ in headers]
    events = [i for i, kind in enumerate(kinds) if kind == rtp_pcap.TELEPHONE_EVENT]
    assert events == list(range(10, 18)) and set(kinds) - {rtp_pcap.TELEPHONE_EVENT} == {rtp_pcap.PCMU}
    assert [headers[i][1] >> 7 for i in events] == [1, 0, 0, 0, 0, 0, 0, 0]  # the marker starts it
    assert len({headers[i][3] for i in events}) == 1  # one timestamp: the event's start
    bodies = [struct.unpack("!BBH", packets[i][12:]) for i in events]
    assert {code for code, _, _ in bodies} == {11}  # '#'
    assert [flags >> 7 for _, flags, _ in bodies] == [0, 0, 0, 0, 1, 1, 1, 1]  # ended, and the end repeated
    assert [duration for *_, duration in bodies] == [160, 320, 480, 640, 800, 800, 800, 800]
    assert headers[18][3] == 18 * 160  # the voice goes on at its own clock

    pcap = rtp_pcap.write_pcap(tmp_path / "caller.pcap", packets)
    data = pcap.read_bytes()
    frame = 16 + 14 + 20 + 8  # pcap record, Ethernet, IPv4, UDP
    assert struct.unpack("<I", data[:4]) == (0xA1B2C3D4,)
    assert len(data) == 24 + 32 * (frame + 12 + 160) + 8 * (frame + 12 + 4)
