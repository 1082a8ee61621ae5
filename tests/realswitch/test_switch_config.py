"""The repository's configuration on a real FreeSWITCH 1.10.12, installed as docs/admin.md says.

What an administrator relies on and only a real switch can show: the event socket takes only the
generated password, nothing listens beyond loopback here, the configuration loads without a warning,
and nothing of the sample configuration ``make install`` left survives the install.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.realswitch.esl_client import EslClosed, EslProbe
from tests.realswitch.harness import LOOPBACK, REPO, RealSwitch

FIXTURES = REPO / "tests" / "fixtures" / "freeswitch-1.10.12"
CHECK_CERTIFICATE = REPO / "scripts" / "check-wss-certificate.sh"


@pytest.mark.parametrize("password", ["ClueCon", "", "wrong"])
def test_the_event_socket_refuses_anything_but_the_generated_password(
    real_switch: RealSwitch, password: str
) -> None:
    probe = EslProbe(LOOPBACK, real_switch.ports.esl)
    with probe:
        reply = probe.authenticate(password)
        assert reply.reply_text == "-ERR invalid"
        with pytest.raises(EslClosed):
            while True:
                probe.read(timeout=5)
    # Byte for byte what the stand-in's fixture says a refused login gets.
    assert bytes(probe.transcript) == (FIXTURES / "inbound-esl-bad-auth.received.txt").read_bytes()


def test_the_generated_password_logs_in(real_switch: RealSwitch) -> None:
    with real_switch.esl() as probe:
        assert probe.api("global_getvar esl_password").strip() == real_switch.esl_password
        assert "UP" in probe.api("status")


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _bound_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, local address, port) of every IP socket the process holds."""
    inodes = _socket_inodes(pid)
    found = []
    for protocol in ("tcp", "udp", "tcp6", "udp6"):
        lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            address, port = fields[1].split(":")
            if protocol.endswith("6"):
                words = [address[i : i + 8] for i in range(0, 32, 8)]
                raw = b"".join(bytes.fromhex(word)[::-1] for word in words)
                text = str(ipaddress.IPv6Address(raw))
            else:
                text = ".".join(str(b) for b in bytes.fromhex(address)[::-1])
            found.append((protocol, text, int(port, 16)))
    return found


def test_every_listener_is_on_loopback(real_switch: RealSwitch) -> None:
    assert real_switch.process is not None
    bound = _bound_addresses(real_switch.process.pid)
    ports = {port for _, _, port in bound}
    for port in (real_switch.ports.esl, real_switch.ports.internal_sip, real_switch.ports.external_sip):
        assert port in ports, (port, bound)
    outside = [entry for entry in bound if entry[1] not in (LOOPBACK, "::1")]
    assert not outside, f"FreeSWITCH holds sockets beyond loopback: {outside}"


def test_the_configuration_loads_without_a_warning(real_switch: RealSwitch) -> None:
    log = real_switch.log_text()
    loaded = {
        node.get("module", "")
        for node in ET.parse(real_switch.conf_dir / "autoload_configs" / "modules.conf.xml").iter("load")
    }
    with real_switch.esl() as probe:
        for module in sorted(loaded):
            assert probe.api(f"module_exists {module}").strip() == "true", module
    assert "deprecated" not in log  # sofia's rtp-timeout-sec: now the media_timeout variables
    assert not re.search(r"Opening of \S+ failed", log)  # opus.conf.xml is shipped
    start_up = log.split("FreeSWITCH Started")[0]
    problems = [line for line in start_up.splitlines() if re.search(r"\[(ERR|CRIT|ALERT)\]", line)]
    assert not problems, problems
    warnings = [line for line in start_up.splitlines() if "[WARNING]" in line and "Thread" not in line]
    assert not warnings, warnings


def test_the_media_timeouts_reach_every_channel_as_globals(real_switch: RealSwitch) -> None:
    assert real_switch.api("global_getvar media_timeout").strip() == "60000"
    assert real_switch.api("global_getvar media_hold_timeout").strip() == "1800000"


def test_nothing_of_the_sample_configuration_survives(real_switch: RealSwitch) -> None:
    with real_switch.esl() as probe:
        directory = ET.fromstring(probe.api("xml_locate directory"))
        dialplan = ET.fromstring(probe.api("xml_locate dialplan"))
        profiles = probe.api("sofia status")
    users = [user.get("id") for user in directory.iter("user")]
    assert users == ["1000"]  # ours (FREESWITCH_USER), with the generated password
    password = next(p.get("value") for p in directory.iter("param") if p.get("name") == "password")
    assert password == real_switch.user_password
    contexts = {context.get("name"): context for context in dialplan.iter("context")}
    assert set(contexts) == {"public", "default", "callbridge_outbound"}
    outbound = [extension.get("name") for extension in contexts["callbridge_outbound"].iter("extension")]
    assert outbound == ["callbridge_outbound", "nothing_else"]
    public = [extension.get("name") for extension in contexts["public"].iter("extension")]
    assert public == ["callbridge_did", "reject_everything_else"]
    assert "ipv6" not in profiles
    assert not (real_switch.conf_dir / "dialplan" / "dialplan").exists()


def test_freeswitch_serves_wss_on_a_self_signed_certificate_of_its_own(real_switch: RealSwitch) -> None:
    """No wss.pem was installed: the core made one at start-up, and only our check says it is unfit."""
    generated = real_switch.workdir / "certs" / "wss.pem"
    assert generated.is_file()
    assert "wss:" in real_switch.api("verto status")  # mod_verto's WSS came up on it, silently
    checked = subprocess.run(
        ["bash", str(CHECK_CERTIFICATE), str(generated)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1
    assert "self-signed" in checked.stderr
