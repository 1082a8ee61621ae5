"""The repository's public context on a real FreeSWITCH: only the configured DIDs reach the controller.

The calls that do reach it (greeting, speech, barge-in, keys, hang-up either way) are the contract tests
in tests/contract, run against the stand-in and this switch alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.wiring import Stack
from tests.realswitch import sipp
from tests.realswitch.harness import RealSwitch

pytestmark = pytest.mark.skipif(
    sipp.SIPP is None, reason="sipp is not installed (apt-get install sip-tester)"
)


def test_the_public_context_refuses_any_other_number(
    real_switch: RealSwitch, real_stack: Stack, tmp_path: Path
) -> None:
    result = sipp.call(
        tmp_path / "sipp", number="4930123456", port=real_switch.ports.external_sip, refused_with=404
    )
    assert result.ok, result.output + result.messages
    assert real_stack.call_log.recent_calls() == []  # it never reached the controller
    assert "public call to unknown number [4930123456]" in real_switch.log_text()
