"""Locks for engines that worker threads share.

``callbridge`` runs under gevent's monkey-patching, which turns ``threading.Lock`` into a greenlet lock.
TTS and STT run in real threads (gevent's thread pools), and a greenlet lock waited on from another thread
deadlocks. Engines guard their models with :func:`os_lock`, a plain OS lock whatever the patching.
"""

from __future__ import annotations

import threading
from _thread import LockType


def os_lock() -> LockType:
    """A lock that blocks the calling OS thread, safe to share between gevent's pool threads."""
    try:
        from gevent import monkey  # noqa: PLC0415 - gevent is optional for this module's users
    except ImportError:  # pragma: no cover - gevent is a dependency, but the engines do not need it
        return threading.Lock()
    if monkey.is_module_patched("threading"):
        lock: LockType = monkey.get_original("_thread", "allocate_lock")()
        return lock
    return threading.Lock()

