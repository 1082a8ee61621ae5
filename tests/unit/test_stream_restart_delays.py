"""Restarting a lost audio stream: growing delays, a limit, and a reset once a stream connects."""

from __future__ import annotations

from app.control.stream_recovery import RETRY_DELAYS, StreamRecovery


def test_delays_grow_then_the_recovery_gives_up() -> None:
    recovery = StreamRecovery()
    assert [recovery.lost() for _ in RETRY_DELAYS] == list(RETRY_DELAYS)
    assert recovery.lost() is None and recovery.recovering


def test_a_connected_stream_resets_the_attempts_and_says_whether_it_was_a_recovery() -> None:
    recovery = StreamRecovery(delays=(0.1, 0.2))
    assert recovery.connected() is False  # the call's first stream
    assert recovery.lost() == 0.1
    assert recovery.connected() is True
    assert recovery.lost() == 0.1  # a new loss starts from the shortest delay again
