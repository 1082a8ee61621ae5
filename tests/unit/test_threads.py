"""Engines shared by gevent's pool threads need a real OS lock even when threading is monkey-patched."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import time, gevent
    from gevent.threadpool import ThreadPool
    from app.threads import os_lock

    def hold(lock):
        with lock:
            time.sleep(0.2)
        return True

    lock = os_lock()
    pool = ThreadPool(2)
    jobs = [pool.spawn(hold, lock) for _ in range(2)]
    done = gevent.joinall(jobs, timeout=5)
    print("os_lock", "ok" if len(done) == 2 and all(job.successful() for job in jobs) else "stuck")
    """
)


def test_os_lock_works_across_pool_threads_under_monkey_patching() -> None:
    # With gevent's patched threading.Lock instead, the second thread never gets the lock: the run hangs.
    try:
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("two pool threads sharing the lock deadlocked") from None
    assert "os_lock ok" in result.stdout.splitlines(), result.stdout + result.stderr
