"""Run a real FreeSWITCH 1.10.12, built by docker/build-freeswitch.sh, with the repository's configuration.

The configuration is installed the way docs/admin.md tells an administrator to: the sample configuration
``make install`` left in ``PREFIX/conf`` is copied to a scratch directory, then
``scripts/install-freeswitch-conf.sh`` replaces it with ``freeswitch-conf/`` and ``dialplan/``. Everything
FreeSWITCH writes (log, db, run, sounds, certificates, recordings, storage, cache, temp) goes under the
same scratch directory; the built prefix is never written to. Every listener is on 127.0.0.1 and on free
ports, and the event socket gets a fresh random password, so two runs (or two engineers) never meet.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import gevent.socket

from tests.realswitch.esl_client import EslClosed, EslProbe

REPO = Path(__file__).resolve().parents[2]
INSTALL_CONF = REPO / "scripts" / "install-freeswitch-conf.sh"
LOOPBACK = "127.0.0.1"
SCRATCH_DIRS = ("log", "db", "run", "sounds", "certs", "recordings", "storage", "cache", "temp")
# The profiles, gateways and modules a ready switch runs with our configuration.
PROFILES = ("internal", "external")
READY_MODULES = ("mod_sofia", "mod_verto", "mod_audio_stream", "mod_event_socket", "mod_opus")


class SwitchFailed(RuntimeError):
    """FreeSWITCH did not come up (or died); the message ends with the tail of its log."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing on 127.0.0.1 uses right now (TCP, or UDP with ``socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def free_udp_range(size: int, attempts: int = 50) -> int:
    """The first port of ``size`` consecutive UDP ports (an even start) that are free right now."""
    for _ in range(attempts):
        start = 20000 + 2 * secrets.randbelow(10000)
        try:
            probes = []
            for port in range(start, start + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind((LOOPBACK, port))
            return start
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError(f"no {size} free consecutive UDP ports")


@dataclass(frozen=True)
class Ports:
    """Where this switch listens (all on 127.0.0.1) and where its dialplan sends calls."""

    esl: int
    internal_sip: int
    external_sip: int
    verto_ws: int
    verto_wss: int
    rtp_start: int
    rtp_end: int
    controller: int

    @classmethod
    def allocate(cls, controller: int, rtp_ports: int = 100) -> Ports:
        """Free ports for one switch; ``controller`` is the Callbridge controller's (the socket target)."""
        rtp_start = free_udp_range(rtp_ports)
        return cls(
            esl=free_port(),
            internal_sip=free_port(socket.SOCK_DGRAM),
            external_sip=free_port(socket.SOCK_DGRAM),
            verto_ws=free_port(),
            verto_wss=free_port(),
            rtp_start=rtp_start,
            rtp_end=rtp_start + rtp_ports - 1,
            controller=controller,
        )


@dataclass
class RealSwitch:
    """One FreeSWITCH process from ``prefix``, configured from this repository, in ``workdir``."""

    prefix: Path
    workdir: Path
    ports: Ports
    dids: str = "15555550100"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    esl_password: str = field(default_factory=lambda: secrets.token_hex(24))
    user_password: str = field(default_factory=lambda: secrets.token_hex(12))
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf_dir(self) -> Path:
        return self.workdir / "conf"

    @property
    def log_file(self) -> Path:
        """mod_logfile's log (every level, as configured in logfile.conf.xml)."""
        return self.workdir / "log" / "freeswitch.log"

    @property
    def console_file(self) -> Path:
        return self.workdir / "console.log"

    def environment(self) -> dict[str, str]:
        """The process environment: what an administrator puts in /etc/callbridge.env, for loopback."""
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TZ") if name in os.environ}
        env.update(
            {
                "CALLBRIDGE_ESL_PASSWORD": self.esl_password,
                "CALLBRIDGE_ESL_PORT": str(self.ports.esl),
                "CALLBRIDGE_CONTROLLER_HOST": LOOPBACK,
                "CALLBRIDGE_CONTROLLER_PORT": str(self.ports.controller),
                "FREESWITCH_LOCAL_IP": LOOPBACK,
                "FREESWITCH_DOMAIN": LOOPBACK,
                "FREESWITCH_EXTERNAL_IP": LOOPBACK,
                "FREESWITCH_DIDS": self.dids,
                "FREESWITCH_USER_PASSWORD": self.user_password,
                "FREESWITCH_INTERNAL_SIP_PORT": str(self.ports.internal_sip),
                "FREESWITCH_EXTERNAL_SIP_PORT": str(self.ports.external_sip),
                "FREESWITCH_RTP_START_PORT": str(self.ports.rtp_start),
                "FREESWITCH_RTP_END_PORT": str(self.ports.rtp_end),
                "FREESWITCH_VERTO_WS_IP": LOOPBACK,
                "FREESWITCH_VERTO_WS_PORT": str(self.ports.verto_ws),
                "FREESWITCH_VERTO_WSS_PORT": str(self.ports.verto_wss),
                "FREESWITCH_LOGLEVEL": "info",
            }
        )
        env.update(self.extra_env)
        return env

    def install(self) -> None:
        """Scratch directories, the sample configuration, then ours over it as docs/admin.md says."""
        sample = self.prefix / "conf"
        if not (sample / "freeswitch.xml").is_file():
            raise SwitchFailed(f"{self.prefix} has no sample configuration in conf/: not a build of ours")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in SCRATCH_DIRS:
            (self.workdir / name).mkdir(exist_ok=True)
        shutil.copytree(sample, self.conf_dir)
        subprocess.run(["bash", str(INSTALL_CONF), str(self.conf_dir)], check=True, capture_output=True)
        for aside in self.workdir.glob("conf.before-callbridge-*"):
            shutil.rmtree(aside)

    def command_line(self) -> list[str]:
        """``freeswitch`` in the foreground, no console, no NAT probing, every directory in scratch."""
        args = [str(self.prefix / "bin" / "freeswitch"), "-nf", "-nc", "-nonat", "-conf", str(self.conf_dir)]
        for name in SCRATCH_DIRS:
            args += [f"-{name}", str(self.workdir / name)]
        return args

    def start(self, timeout: float = 60.0) -> None:
        """Install, start, and return once the event socket answers and both SIP profiles run."""
        if not self.conf_dir.exists():
            self.install()
        with self.console_file.open("ab") as console:
            self.process = subprocess.Popen(
                self.command_line(),
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float) -> None:
        """Poll until ESL authenticates, our modules are loaded and both profiles are RUNNING."""
        deadline = time.monotonic() + timeout
        last = "the event socket never answered"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SwitchFailed(
                    f"FreeSWITCH exited with status {self.process.returncode}\n{self.log_tail()}"
                )
            try:
                with self.esl() as probe:
                    missing = [m for m in READY_MODULES if probe.api(f"module_exists {m}").strip() != "true"]
                    status = probe.api("sofia status")
                    down = [p for p in PROFILES if not _profile_running(status, p)]
                    if not missing and not down:
                        return
                    last = f"modules not loaded: {missing}; profiles not running: {down}"
            except (OSError, EslClosed, TimeoutError) as exc:
                last = f"event socket: {exc!r}"
            time.sleep(0.2)
        raise SwitchFailed(f"FreeSWITCH not ready after {timeout:.0f} s ({last})\n{self.log_tail()}")

    def esl(self, password: str | None = None, *, cooperative: bool = False) -> EslProbe:
        """A new authenticated event socket connection (raises if the password is refused).

        ``cooperative``: on a gevent socket, for use beside a stack running in this thread's greenlets.
        """
        connect = gevent.socket.create_connection if cooperative else socket.create_connection
        probe = EslProbe(LOOPBACK, self.ports.esl, connect=connect)
        try:
            reply = probe.authenticate(self.esl_password if password is None else password)
        except BaseException:
            probe.close()
            raise
        if not reply.reply_text.startswith("+OK"):
            probe.close()
            raise EslClosed(f"event socket refused the password: {reply.reply_text}")
        return probe

    def api(self, command: str) -> str:
        """One API command on a fresh connection."""
        with self.esl() as probe:
            return probe.api(command)

    def stop(self, timeout: float = 20.0) -> int | None:
        """Shut FreeSWITCH down (SIGTERM, as systemd does), and kill it if it does not go in time."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            raise SwitchFailed(f"FreeSWITCH ignored SIGTERM for {timeout:.0f} s\n{self.log_tail()}") from None

    def log_text(self) -> str:
        """Everything FreeSWITCH logged so far (mod_logfile, else the console output)."""
        for path in (self.log_file, self.console_file):
            if path.is_file() and path.stat().st_size:
                return path.read_text(errors="replace")
        return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def _profile_running(status: str, name: str) -> bool:
    """Whether ``sofia status`` lists profile ``name`` as RUNNING."""
    return any(
        line.split()[:1] == [name] and "profile" in line and "RUNNING" in line for line in status.splitlines()
    )
