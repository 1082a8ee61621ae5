"""The chaos bench's moving parts: ``python -m app serve`` and the campaign dialer as real processes,
restarted the way systemd's ``Restart=always`` would, against the stand-in and a scratch PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import gevent
import gevent.event

REPO = Path(__file__).resolve().parent.parent
DID = "15557654321"
DIALER_RESTART_DELAY_S = 1.0  # systemd's RestartSec=1 for the dialer unit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}


class Serve:
    """``python -m app serve`` (controller and in-process media worker) with its own log per start."""

    def __init__(self, env: dict[str, str], directory: Path, metrics_port: int) -> None:
        self.env, self.directory, self.metrics_port = env, directory, metrics_port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.directory / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=self.directory,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: nothing drained, nothing more recorded."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def readyz(self) -> str:
        try:
            return http_get(f"http://127.0.0.1:{self.metrics_port}/readyz")[1]
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> float | None:
        """Seconds until /readyz answers 200, or None (the process died or took too long)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is None or self.process.poll() is not None:
                return None
            try:
                if http_get(f"http://127.0.0.1:{self.metrics_port}/readyz")[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            gevent.sleep(0.1)
        return None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (a drained stop), then SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            gevent.sleep(0.1)
        self.kill()
        return self.process.returncode


class SupervisedDialer:
    """``python -m app campaign dial ID``, started again whenever it exits until the campaign is done."""

    def __init__(self, env: dict[str, str], directory: Path, campaign_id: str) -> None:
        self.env, self.directory, self.campaign_id = env, directory, campaign_id
        self.exits: list[int] = []
        self.done = gevent.event.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._greenlet: gevent.Greenlet[..., None] | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while not self._stopping:
            log = (self.directory / f"dialer-{len(self.exits) + 1}.log").open("wb")
            self._process = subprocess.Popen(
                [sys.executable, "-m", "app", "campaign", "dial", self.campaign_id],
                cwd=self.directory,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            while self._process.poll() is None:
                gevent.sleep(0.2)
            code = self._process.returncode
            self.exits.append(code)
            if code == 0 and b"completed after" in self._last_log():
                self.done.set()
                return
            gevent.sleep(DIALER_RESTART_DELAY_S)

    def _last_log(self) -> bytes:
        return (self.directory / f"dialer-{len(self.exits)}.log").read_bytes()

    @property
    def crashes(self) -> int:
        return sum(1 for code in self.exits if code != 0)

    def stop(self) -> None:
        self._stopping = True
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        if self._greenlet is not None:
            self._greenlet.join(timeout=30)
