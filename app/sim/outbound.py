"""The ``socket`` dialplan application: connect out to a controller and let it drive the call.

async mode: the listener runs in its own greenlet and the session parks (after ``connect``)
until hangup or until the socket ends; then the application returns and the dialplan goes on with
its next application (mod_event_socket.c, socket_function: switch_ivr_park returns once
listener_run clears CF_CONTROLLED; not after a hangup or a transfer). Sync mode: the listener runs in the session greenlet and
``sendmsg`` executes inline. Linger and disconnect notices follow mod_event_socket (fact 9).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import gevent
from gevent import socket

from app.sim.listener import Listener
from app.sim.wire import linger_notice

if TYPE_CHECKING:
    from app.sim.session import Session

logger = logging.getLogger(__name__)

DEFAULT_SOCKET_PORT = 8084
CONNECT_TIMEOUT_SECONDS = 5.0


def run_socket_app(session: Session, data: str) -> None:
    """``socket <host[:port]> [async] [full]``; returns when the controller lets go of the call."""
    channel = session.channel
    argv = [word for word in data.split(" ") if word]
    if not argv:
        logger.error("%s socket: Parse Error!", channel.uuid)
        return
    host, _, port_text = argv[0].partition(":")
    if "/" in port_text:
        port_text, _, path = port_text.partition("/")
        channel.set_var("socket_path", path)
    port = int(port_text) if port_text.isdigit() else DEFAULT_SOCKET_PORT
    channel.set_var("socket_host", host)
    flags = {word.lower() for word in argv[1:]}
    full = "full" in flags
    async_mode = "async" in flags
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS)
        sock.settimeout(None)
    except OSError as error:
        logger.error("%s socket: cannot connect to %s:%d: %s", channel.uuid, host, port, error)
        return
    session.park_released = False
    listener = Listener(session.switch, sock, session=session, full=full, async_mode=async_mode)
    channel.acquire_controller()
    session.switch.listeners.append(listener)
    watcher = gevent.spawn(_watch_channel, session, listener)
    logger.info(
        "%s socket connected to %s:%d (%s, %s)",
        channel.uuid,
        host,
        port,
        "async" if async_mode else "sync",
        "full" if full else "single-channel",
    )
    if async_mode:
        reader = gevent.spawn(listener.serve)
        reader.link(lambda _greenlet: _listener_done(session, listener, watcher))
        gevent.wait([listener.connected, listener.finished, channel.hung_up], count=1)
        if channel.is_up and not listener.finished.is_set():
            session.park()
    else:
        try:
            listener.serve()
        finally:
            _listener_done(session, listener, watcher)


def _listener_done(session: Session, listener: Listener, watcher: gevent.Greenlet[..., None]) -> None:
    watcher.kill(block=False)
    if listener in session.switch.listeners:
        session.switch.listeners.remove(listener)
    session.release_park()
    session.channel.release_controller()
    logger.info("%s outbound socket finished", session.channel.uuid)


def _watch_channel(session: Session, listener: Listener) -> None:
    """After hangup: linger notice and timed close, or goodbye once the hangup is reported."""
    channel = session.channel
    gevent.wait([channel.hung_up, listener.finished], count=1)
    if listener.finished.is_set() or not listener.running:
        return
    if listener.linger is not None:
        listener.send(linger_notice(channel.uuid, channel.name, listener.linger))
        if listener.linger >= 0:
            gevent.sleep(listener.linger)
            if listener.running:
                listener.close()
        return
    if listener.async_mode:
        session.reported.wait()
    if listener.running:
        listener.close()
