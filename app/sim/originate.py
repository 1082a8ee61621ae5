"""``originate``: dial strings, ``{vars}``, ``|`` failover and ``,`` simultaneous legs.

The far end of a ``sofia`` leg is decided by test hooks (:class:`Endpoint`, matched by regex on
the dial string); ``loopback/<ext>/<context>`` runs the stand-in's own dialplan on a B leg;
``error/<cause>`` fails with that cause; unknown gateways fail with INVALID_GATEWAY before any
channel exists, as mod_sofia does.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gevent
import gevent.event

from app.sim.args import separate_blank
from app.sim.channel import Channel
from app.sim.profile import CallerProfile, is_known_cause
from app.sim.session import DialplanApps, Session

if TYPE_CHECKING:
    from app.sim.switch import FakeSwitch

logger = logging.getLogger(__name__)

ORIGINATE_USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>]"
    " [<cid_num>] [<timeout_sec>]\n"
)
DEFAULT_CID_NUMBER = "0000000000"


@dataclass
class Endpoint:
    """What the far end of an originated call does (a test hook)."""

    result: str = "answer"
    """``answer`` or the hangup cause it fails with (NO_ANSWER, USER_BUSY, CALL_REJECTED, ...)."""
    answer_delay: float = 0.0
    """Seconds of ringing before the result (NO_ANSWER without a delay rings until the timeout)."""
    caller_audio: Path | None = None
    """What the called party says (WAV), from answer on."""
    hangup_after: float | None = None
    """The far end hangs up this many seconds after answering."""
    rate: int = 8000


@dataclass
class Outcome:
    """The result of one leg attempt."""

    channel: Channel | None
    cause: str


def parse_dial_vars(dial: str) -> tuple[dict[str, str], str]:
    """Split a leading ``{a=b,c=d}`` (or ``[...]``) block from a dial string."""
    variables: dict[str, str] = {}
    dial = dial.strip()
    while dial[:1] in ("{", "[", "<"):
        closing = {"{": "}", "[": "]", "<": ">"}[dial[0]]
        end = dial.find(closing)
        if end < 0:
            break
        for pair in dial[1:end].split(","):
            name, sep, value = pair.partition("=")
            if sep and name.strip():
                variables[name.strip()] = value.strip().strip("'")
        dial = dial[end + 1 :].strip()
    return variables, dial


class Originator:
    """Places outbound legs for ``originate`` and for the test API."""

    def __init__(self, switch: FakeSwitch) -> None:
        self.switch = switch

    def originate_api(self, arg: str) -> str:
        """``originate <url> <exten>|&app(args) [dialplan] [context] [cid_name] [cid_num] [timeout]``."""
        argv = [None if word.lower() == "undef" else word for word in separate_blank(arg, 10)]
        if not arg.strip() or len(argv) < 2 or len(argv) > 7 or argv[0] is None or argv[1] is None:
            return ORIGINATE_USAGE
        dial, exten = argv[0], argv[1]
        context = argv[3] if len(argv) > 3 and argv[3] else "default"
        timeout = int(argv[6]) if len(argv) > 6 and argv[6] and argv[6].isdigit() else 60
        outcome = self.originate(
            dial,
            timeout=timeout,
            cid_name=argv[4] if len(argv) > 4 else None,
            cid_num=argv[5] if len(argv) > 5 else None,
        )
        if outcome.channel is None:
            return f"-ERR {outcome.cause}\n"
        channel = outcome.channel
        if exten.startswith("&") and len(exten) > 1:
            name, _, rest = exten[1:].partition("(")
            apps: DialplanApps = [(name, rest.split(")", 1)[0])]
        else:
            # switch_ivr_session_transfer: the leg's profile now names the extension it runs.
            channel.profile.destination_number = exten
            channel.profile.context = context
            apps = self.switch.dialplan.find(context, exten) or [("hangup", "NO_ROUTE_DESTINATION")]
        Session(self.switch, channel, apps, created=True).start()
        return f"+OK {channel.uuid}\n"

    def originate(
        self, dial: str, *, timeout: int = 60, cid_name: str | None = None, cid_num: str | None = None
    ) -> Outcome:
        """Try the ``|``-separated groups in turn; in a group the first ``,`` leg to answer wins."""
        global_vars, rest = parse_dial_vars(dial)
        if "originate_timeout" in global_vars and global_vars["originate_timeout"].isdigit():
            timeout = int(global_vars["originate_timeout"])
        if cid_name:
            global_vars.setdefault("origination_caller_id_name", cid_name)
        if cid_num:
            global_vars.setdefault("origination_caller_id_number", cid_num)
        cause = "NORMAL_TEMPORARY_FAILURE"
        for group in rest.split("|"):
            targets = [target.strip() for target in group.split(",") if target.strip()]
            if not targets:
                continue
            outcome = self._race(targets, global_vars, timeout)
            if outcome.channel is not None:
                _originated(outcome.channel)
                return outcome
            cause = outcome.cause
        return Outcome(None, cause)

    def _race(self, targets: list[str], global_vars: dict[str, str], timeout: int) -> Outcome:
        won = gevent.event.Event()
        attempts = [
            gevent.spawn(self._attempt, target, dict(global_vars), timeout, won, index == 0)
            for index, target in enumerate(targets)
        ]
        pending = list(attempts)
        winner: Outcome | None = None
        last_cause = "NORMAL_TEMPORARY_FAILURE"
        while pending:
            done = gevent.wait(pending, count=1)
            for greenlet in done:
                pending.remove(greenlet)
                outcome = (
                    greenlet.value if greenlet.successful() else Outcome(None, "NORMAL_TEMPORARY_FAILURE")
                )
                if outcome is None:
                    continue
                if outcome.channel is not None and winner is None:
                    winner = outcome
                    won.set()
                elif outcome.channel is not None:
                    outcome.channel.spawn(self._finish_failed, outcome.channel, "LOSE_RACE")
                else:
                    last_cause = outcome.cause
        return winner or Outcome(None, last_cause)

    def _attempt(
        self, target: str, variables: dict[str, str], timeout: int, won: gevent.event.Event, first: bool
    ) -> Outcome:
        local_vars, target = parse_dial_vars(target)
        variables.update(local_vars)
        if "origination_uuid" in variables and not first:
            variables.pop("origination_uuid")
        kind, _, rest = target.partition("/")
        kind = kind.lower()
        if kind == "error":
            cause = rest.strip().upper()
            return Outcome(None, cause if is_known_cause(cause) else "NORMAL_TEMPORARY_FAILURE")
        if kind == "loopback":
            return self.switch.loopback.attempt(rest, variables, float(timeout))
        if kind != "sofia":
            endpoint = self.switch.match_endpoint(target)
            if endpoint is None:
                return Outcome(None, "CHAN_NOT_IMPLEMENTED")
            return self._sofia_leg(
                target=target,
                address=target,
                gateway="",
                variables=variables,
                endpoint=endpoint,
                timeout=timeout,
                won=won,
            )
        profile, _, address = rest.partition("/")
        gateway = ""
        if profile == "gateway":
            gateway, _, address = address.partition("/")
            if gateway not in self.switch.gateways:
                logger.warning("originate %s: Invalid Gateway '%s'", target, gateway)
                return Outcome(None, "INVALID_GATEWAY")
        endpoint = self.switch.match_endpoint(target)
        if endpoint is None and gateway:
            endpoint = Endpoint()
        return self._sofia_leg(
            target=target,
            address=address,
            gateway=gateway,
            variables=variables,
            endpoint=endpoint,
            timeout=timeout,
            won=won,
        )

    def _sofia_leg(
        self,
        *,
        target: str,
        address: str,
        gateway: str,
        variables: dict[str, str],
        endpoint: Endpoint | None,
        timeout: int,
        won: gevent.event.Event,
    ) -> Outcome:
        number = address.split("@", 1)[0]
        leg_uuid = variables.get("origination_uuid") or str(uuid_module.uuid4())
        profile_name = "external" if gateway else (target.split("/")[1] if "/" in target else "internal")
        name = f"sofia/{profile_name}/{address}"
        profile = CallerProfile(
            direction="outbound",
            uuid=leg_uuid,
            channel_name=name,
            destination_number=number,
            context="default",
            source="src/switch_ivr_originate.c",
            dialplan="",
            caller_id_number=variables.get("origination_caller_id_number", DEFAULT_CID_NUMBER),
            caller_id_name=variables.get("origination_caller_id_name", ""),
            callee_id_name="Outbound Call",
            callee_id_number=number,
        )
        rate = endpoint.rate if endpoint else 8000
        channel = self.switch.new_channel(
            profile,
            kind="sofia",
            rate=rate,
            caller_audio=endpoint.caller_audio if endpoint else None,
            hit_dialplan=False,
        )
        base = {
            "direction": "outbound",
            "is_outbound": "true",
            "uuid": leg_uuid,
            "session_id": str(self.switch.sessions_since_startup),
            "sip_profile_name": profile_name,
            "sofia_profile_name": profile_name,
            "channel_name": name,
            "call_uuid": leg_uuid,
        }
        if gateway:
            # As 1.10.12 says for a gateway leg: sip_profile_name "gateway" (the dial string's word),
            # sofia_profile_name the profile; no "sip_gateway" variable.
            base.update(sip_gateway_name=gateway, sip_profile_name="gateway", sip_to_user=number)
        for key, value in {**base, **variables}.items():
            channel.set_var(key, value)
        channel.set_var("originate_early_media", "false")
        channel.set_var("originate_endpoint", "sofia")
        channel.create()
        channel.set_state("CS_ROUTING")
        channel.set_state("CS_CONSUME_MEDIA")
        if endpoint is None:
            self._finish_failed(channel, "NORMAL_TEMPORARY_FAILURE")
            return Outcome(None, "NORMAL_TEMPORARY_FAILURE")
        result = endpoint.result.upper()
        if result == "ANSWER":
            wait = endpoint.answer_delay
        else:
            wait = endpoint.answer_delay or (float(timeout) if result == "NO_ANSWER" else 0.0)
        if wait > 0:
            channel.ring()
        gevent.wait([won, channel.hung_up], timeout=min(wait, float(timeout)), count=1)
        if won.is_set():
            self._finish_failed(channel, "ORIGINATOR_CANCEL")
            return Outcome(None, "ORIGINATOR_CANCEL")
        if not channel.is_up:
            cause = channel.hangup_cause or "NORMAL_CLEARING"
            self._finish_failed(channel, cause)
            return Outcome(None, cause)
        if wait >= timeout or result != "ANSWER":
            cause = (
                "NO_ANSWER" if wait >= timeout else (result if is_known_cause(result) else "CALL_REJECTED")
            )
            self._finish_failed(channel, cause)
            return Outcome(None, cause)
        channel.answer()
        if endpoint.hangup_after is not None:
            gevent.spawn_later(endpoint.hangup_after, channel.hangup, "NORMAL_CLEARING")
        return Outcome(channel, "SUCCESS")

    def _finish_failed(self, channel: Channel, cause: str) -> None:
        channel.hangup(cause)
        channel.report()
        channel.destroy()
        self.switch.channel_gone(channel)


def _originated(channel: Channel) -> None:
    """What ``switch_ivr_originate`` does to the leg that answered, before it runs the application.

    Real 1.10.12 (realswitch-gateway-call, inbound-esl): the caller ID is flipped (the A leg's
    ``Caller-Caller-ID-Number`` is now the dialled number; the caller ID moves to ``Callee-ID-Number``),
    ``pre_transfer_caller_id_number`` and ``channel_cid_flipped`` say so, and ``Channel-HIT-Dialplan`` is
    true from then on. CHANNEL_ANSWER, fired before, still shows the profile as it was.
    """
    profile = channel.profile
    if profile.callee_id_name and profile.caller_id_name:
        channel.set_var("pre_transfer_caller_id_name", profile.caller_id_name)
    if profile.callee_id_number and profile.caller_id_number:
        channel.set_var("pre_transfer_caller_id_number", profile.caller_id_number)
    profile.flip_cid()
    channel.set_var("channel_cid_flipped", "yes")
    channel.hit_dialplan = True
