"""The real-switch tier's helpers that need no switch: SIPp scenarios and the mu-law its callers stream."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.realswitch import sipp


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
