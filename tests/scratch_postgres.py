"""A PostgreSQL cluster of a test's own (initdb + pg_ctl on a free port), to stop, hang and restart at will.

The shared server on 5432 is never touched: outages are played on this scratch cluster. Its data
directory lives in a fresh /tmp folder (owned by the ``postgres`` user when the tests run as root, since
PostgreSQL refuses to run as root) and is removed by :meth:`ScratchPostgres.destroy`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ScratchPostgres:
    """One throw-away cluster: ``start``, ``stop`` (as a crash does), ``pause``/``resume`` (a hung server)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="callbridge-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._owner = "postgres" if os.geteuid() == 0 else None
        if self._owner is not None:
            shutil.chown(self.root, user=self._owner)
        self._run(_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's ``postgres`` database."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(
            _binary("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop at once, as a crash or a cut network does: every connection is dropped mid-query."""
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pause(self) -> None:
        """Freeze the server and its backends (SIGSTOP): connections stay open and nothing answers."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        """Stop the server if it runs and remove its files."""
        self.resume()
        subprocess.run(
            [_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
            user=self._owner,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def _pids(self) -> list[int]:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def _run(self, *command: str) -> None:
        result = subprocess.run(list(command), capture_output=True, text=True, check=False, user=self._owner)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
