"""Test set-up shared by the dialer's stand-in tests: the switch, a controller socket, a campaign CSV."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gevent
from gevent import socket
from gevent.server import StreamServer

from app.dialer.dialer_setup import DialerConfig, RunSummary
from app.dialer.runner import Dialer
from app.esl.inbound import InboundClient
from app.esl.protocol import Event
from app.sim.shipped_dialplan import route_originated_calls
from app.sim.switch import FakeSwitch
from app.store.campaigns import CampaignStore


@contextmanager
def controller_socket(switch: FakeSwitch) -> Iterator[int]:
    """A TCP server where the switch's originated calls' ``socket`` lands and stays until the far end
    hangs up (the shipped callbridge_outbound extension, pointed at it).

    The dialer's tests are about dialling; the real controller has its own tests.
    """

    def hold(sock: socket.socket, _address: object) -> None:
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass

    server = StreamServer(("127.0.0.1", 0), hold)
    server.start()
    route_originated_calls(switch.dialplan, "127.0.0.1", int(server.server_port))
    try:
        yield int(server.server_port)
    finally:
        server.stop(timeout=1)


@contextmanager
def running_switch() -> Iterator[FakeSwitch]:
    switch = FakeSwitch(password=secrets.token_hex(8))
    switch.start()
    try:
        yield switch
    finally:
        switch.stop()


@dataclass
class Connected:
    dialer: Dialer
    client: InboundClient


@contextmanager
def connected_dialer(
    store: CampaignStore, switch: FakeSwitch, campaign_id: str, config: DialerConfig
) -> Iterator[Connected]:
    holder: list[Dialer] = []

    def on_event(event: Event) -> None:
        if holder:
            holder[0].on_event(event)

    client = InboundClient(
        "127.0.0.1",
        switch.esl_port,
        switch.password,
        on_event=on_event,
    )
    dialer = Dialer(store, client, campaign_id, config)
    holder.append(dialer)
    client.start()
    assert client.wait_connected(10)
    try:
        yield Connected(dialer, client)
    finally:
        dialer.stop()
        client.stop()


def run_in_greenlet(dialer: Dialer, timeout: float) -> RunSummary:
    greenlet = gevent.spawn(dialer.run)
    greenlet.join(timeout=timeout)
    assert greenlet.ready(), f"campaign did not finish within {timeout} s"
    summary: RunSummary = greenlet.get()
    return summary


def csv_text(rows: list[dict[str, str]], columns: list[str]) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    buffer.seek(0)
    return buffer
