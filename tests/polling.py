"""Waiting for a condition in tests that share the gevent hub with the stand-in (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Yield to the hub until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.05)
