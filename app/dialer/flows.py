"""Which dialog flows a call or a campaign may name: the flows installed in ``app/dialog/flows``.

The controller looks a call's ``callbridge_flow`` up among the packaged flows and falls back to the
default flow when it is missing, so a wrong name must be refused when the call is placed, not discovered
on the phone.
"""

from __future__ import annotations

import re

from app.dialog.factory import FLOWS_DIR

_FLOW_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class UnknownFlow(ValueError):
    """The flow named is not installed (or is not a flow name at all, e.g. a path)."""


def installed_flows() -> list[str]:
    """The names of the installed flows (file names without ``.yaml``), sorted."""
    return sorted(path.stem for path in FLOWS_DIR.glob("*.yaml") if _FLOW_NAME.match(path.stem))


def check_flow(name: str) -> str:
    """Return ``name`` if it names an installed flow; raise :class:`UnknownFlow` saying which ones exist."""
    flows = installed_flows()
    known = ", ".join(flows) or "none"
    if not _FLOW_NAME.match(name):
        raise UnknownFlow(f"--flow takes the name of an installed flow, not a path: {name!r} (installed: {known})")
    if name not in flows:
        raise UnknownFlow(f"no flow {name!r} is installed (installed: {known})")
    return name
