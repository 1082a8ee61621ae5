"""The shipped dialplan's Callbridge extensions, in the stand-in's terms (tests/config checks the XML).

FreeSWITCH reads the controller's address from ``vars.xml``; the stand-in is told it here.
"""

from __future__ import annotations

from app.domain import ORIGINATE_CONTEXT, ORIGINATE_EXTENSION
from app.sim.session import DialplanApps
from app.sim.switch import Dialplan

PARK_TIMEOUT = "park_timeout=30:NORMAL_TEMPORARY_FAILURE"


def outbound_extension(controller_host: str, controller_port: int) -> DialplanApps:
    """dialplan/callbridge_outbound.xml: what an originated call runs once answered."""
    return [
        ("set", "callbridge_owned=true"),
        ("socket", f"{controller_host}:{controller_port} async full"),
        ("set", PARK_TIMEOUT),
        ("park", ""),
        ("hangup", "NORMAL_TEMPORARY_FAILURE"),
    ]


def route_originated_calls(dialplan: Dialplan, controller_host: str, controller_port: int) -> None:
    """Add the ``callbridge_outbound`` context: originated calls reach the controller at that address."""
    dialplan.add(
        ORIGINATE_CONTEXT,
        f"^{ORIGINATE_EXTENSION}$",
        outbound_extension(controller_host, controller_port),
    )
    dialplan.add(ORIGINATE_CONTEXT, "^(.*)$", [("hangup", "UNALLOCATED_NUMBER")])
