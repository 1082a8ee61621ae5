"""mod_loopback: ``loopback/<ext>[/<context>]`` makes an A leg (outbound) and a B leg (inbound)
that runs the stand-in's dialplan; answering B answers A, and a hangup on one ends the other."""

from __future__ import annotations

import logging
import uuid as uuid_module
from typing import TYPE_CHECKING

import gevent

from app.sim.channel import Channel
from app.sim.originate import Outcome
from app.sim.profile import CallerProfile
from app.sim.session import Session

if TYPE_CHECKING:
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

CID_NUMBER = "0000000000"


class Loopback:
    """Creates loopback leg pairs."""

    def __init__(self, switch: FakeSwitch) -> None:
        self.switch = switch

    def attempt(self, rest: str, variables: dict[str, str], timeout: float = 60.0) -> Outcome:
        """Originate one loopback target; returns the A leg once B answers."""
        parts = rest.split("/")
        extension = parts[0]
        context = parts[1] if len(parts) > 1 and parts[1] else "default"
        a_uuid = variables.get("origination_uuid") or str(uuid_module.uuid4())
        b_uuid = str(uuid_module.uuid4())
        a_leg = self._leg(a_uuid, f"loopback/{extension}-a", "outbound", extension, context)
        a_vars = {
            "direction": "outbound",
            "is_outbound": "true",
            "session_id": self._session_id(),
            "read_codec": "L16",
            "read_rate": "8000",
            "write_codec": "L16",
            "write_rate": "8000",
            "channel_name": a_leg.name,
            "uuid": a_uuid,
            "call_uuid": a_uuid,
            **variables,
            "originate_early_media": "false",
            "originate_endpoint": "loopback",
            "other_loopback_leg_uuid": b_uuid,
            "loopback_leg": "A",
        }
        for key, value in a_vars.items():
            a_leg.set_var(key, value)
        a_leg.create()
        apps = self.switch.dialplan.find(context, extension)
        if apps is None:
            logger.info("%s loopback/%s/%s: no route", a_uuid, extension, context)
            self.switch.originator._finish_failed(a_leg, "NO_ROUTE_DESTINATION")
            return Outcome(None, "NO_ROUTE_DESTINATION")
        b_leg = self._leg(b_uuid, f"loopback/{extension}-b", "inbound", extension, context)
        b_leg.hit_dialplan = True
        b_vars = {
            "direction": "inbound",
            "uuid": b_uuid,
            "call_uuid": b_uuid,
            "session_id": self._session_id(),
            "channel_name": b_leg.name,
            "read_codec": "L16",
            "read_rate": "8000",
            "write_codec": "L16",
            "write_rate": "8000",
            **variables,
            "other_loopback_leg_uuid": a_uuid,
            "loopback_leg": "B",
        }
        b_vars.pop("origination_caller_id_number", None)
        for key, value in b_vars.items():
            b_leg.set_var(key, value)
        b_leg.create()
        a_leg.set_state("CS_ROUTING")
        a_leg.set_state("CS_CONSUME_MEDIA")
        b_leg.peer_answer = a_leg.answer
        gevent.spawn(_mirror_hangup, a_leg, b_leg)
        gevent.spawn(_mirror_hangup, b_leg, a_leg)
        b_leg.set_state("CS_ROUTING")
        Session(self.switch, b_leg, apps, created=True).start()
        gevent.wait([a_leg.answered, a_leg.hung_up], timeout=timeout, count=1)
        if a_leg.answered.is_set() and a_leg.is_up:
            return Outcome(a_leg, "SUCCESS")  # the originator flips its caller ID
        cause = a_leg.hangup_cause or "NO_ANSWER"
        self.switch.originator._finish_failed(a_leg, cause)
        return Outcome(None, cause)

    def _session_id(self) -> str:
        return str(self.switch.sessions_since_startup + 1)

    def _leg(self, leg_uuid: str, name: str, direction: str, extension: str, context: str) -> Channel:
        profile = CallerProfile(
            direction=direction,
            uuid=leg_uuid,
            channel_name=name,
            destination_number=extension,
            context=context,
            source="mod_loopback",
            caller_id_number=CID_NUMBER,
            callee_id_name="Outbound Call",
            callee_id_number=context,
            dialplan="xml",
        )
        return self.switch.new_channel(
            profile, kind="loopback", rate=8000, caller_audio=None, hit_dialplan=False
        )


def _mirror_hangup(source: Channel, other: Channel) -> None:
    source.hung_up.wait()
    if other.is_up:
        other.hangup(source.hangup_cause or "NORMAL_CLEARING")
