"""A load balancer's TCP check (connect, close) on the controller's and the worker's ports is not an error."""

from __future__ import annotations

import logging

import gevent.socket
import pytest

from app.wiring import Stack
from tests.polling import until


def test_tcp_probes_of_the_controller_and_worker_ports_log_no_warning(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for address in (("127.0.0.1", stack.controller_port), stack.media.address):
        for _ in range(3):
            gevent.socket.create_connection(address, timeout=5).close()
    # The controller says so for each probe once it has handled it; the worker says nothing at all.
    until(lambda: sum("health probe" in r.getMessage() for r in caplog.records) == 3, 30, "three probes seen")
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage() for r in noisy]
