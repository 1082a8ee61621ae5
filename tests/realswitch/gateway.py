"""A test gateway on the running switch, pointing at a SIPp callee on 127.0.0.1.

What an administrator installs is left as it is: the gateway is a copy of the shipped Twilio gateway
(``freeswitch-conf/sip_profiles/external/twilio.xml``: no registration, ``caller-id-in-from``, context
``public``) under another name and with its ``proxy`` set to the callee's address, written only into the
switch's scratch configuration directory (``sip_profiles/external/`` is included by ``external.xml``).
``reloadxml`` then ``sofia profile external rescan`` brings it up on the running profile, and
``killgw`` takes it down again, so one switch serves every test.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.polling import until
from tests.realswitch.harness import REPO, RealSwitch

SHIPPED_GATEWAY = REPO / "freeswitch-conf" / "sip_profiles" / "external" / "twilio.xml"
PROFILE = "external"


def gateway_xml(name: str, proxy: str) -> str:
    """The shipped Twilio gateway, renamed ``name``, its proxy ``proxy`` (host:port)."""
    text = SHIPPED_GATEWAY.read_text()
    renamed = text.replace('<gateway name="twilio">', f'<gateway name="{name}">')
    pointed = renamed.replace("$${twilio_termination_uri}", proxy)
    if renamed in (text, pointed):
        raise AssertionError(f"{SHIPPED_GATEWAY} no longer has the gateway name or proxy this helper edits")
    return pointed


def _api(switch: RealSwitch, command: str) -> str:
    """One API command on a gevent socket: the stack under test keeps running meanwhile."""
    with switch.esl(cooperative=True) as probe:
        return probe.api(command)


def gateway_state(switch: RealSwitch, name: str) -> str | None:
    """The gateway's ``State`` in ``sofia status gateway`` (``NOREG`` for one that does not register)."""
    status = _api(switch, f"sofia status gateway {PROFILE}::{name}")
    match = re.search(r"^State\s+(\S+)", status, re.MULTILINE)
    return match.group(1) if match else None


@contextmanager
def loopback_gateway(switch: RealSwitch, proxy: str) -> Iterator[str]:
    """A gateway to ``proxy`` on the running switch for the block; yields its name."""
    name = f"callbridge_test_{secrets.token_hex(4)}"
    path: Path = switch.conf_dir / "sip_profiles" / "external" / f"{name}.xml"
    path.write_text(gateway_xml(name, proxy))
    try:
        assert "+OK" in _api(switch, "reloadxml")
        _api(switch, f"sofia profile {PROFILE} rescan")
        until(lambda: gateway_state(switch, name) is not None, 10, f"gateway {name} to come up")
        yield name
    finally:
        path.unlink()
        _api(switch, "reloadxml")
        _api(switch, f"sofia profile {PROFILE} killgw {name}")
