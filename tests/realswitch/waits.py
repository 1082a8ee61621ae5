"""Waiting on what the stack under test logged."""

from __future__ import annotations

import gevent

from app.store import CallLog
from app.store.records import CallRow


def only_call(call_log: CallLog, timeout: float = 10.0) -> CallRow:
    """The one call this test's stack logged, once it has ended (gevent-friendly: the stack keeps running)."""
    with gevent.Timeout(timeout, AssertionError(f"no single ended call within {timeout:.0f} s")):
        while True:
            calls = call_log.recent_calls()
            if len(calls) == 1 and calls[0].ended_at is not None:
                return calls[0]
            gevent.sleep(0.1)
