"""``callbridge demo --outbound``: a sample campaign dialled by the real campaign runner through the stand-in.

The FreeSWITCH stand-in plays the far end of every number in the sample file that ships with the package
(``app/dialer/data/sample_contacts.csv``): a person who confirms the appointment, an answering machine, a
busy line, a phone nobody picks up and a number that is not in service. The controller and the media
worker take the answered calls exactly as in ``callbridge demo``; the file is imported and dialled by the
same code as ``callbridge campaign run`` (the same live progress), then the campaign's status and what
became of each contact are printed, from the database.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from pydantic import SecretStr
from rich import box
from rich.console import Console
from rich.table import Table

from app.config import Settings
from app.demo import make_caller_wav
from app.dialer.campaigns import CampaignOptions
from app.dialer.cli_common import open_store
from app.dialer.cli_dial import EslConnection, dial_with_progress
from app.dialer.cli_import import import_file
from app.dialer.status_view import print_table, status_records
from app.dialog.factory import build_brain, packaged_flow
from app.sim.shipped_dialplan import route_originated_calls
from app.sim.switch import Endpoint, FakeSwitch, LineEcho
from app.store import CallLog, upgrade
from app.store.campaigns import CampaignStore
from app.store.records import TurnRow
from app.wiring import Stack

SAMPLE_CONTACTS = Path(__file__).resolve().parent / "dialer" / "data" / "sample_contacts.csv"
FLOW = "appointment_reminder"
# The far end hangs up by itself this long after answering, should the agent never do so.
FAR_END_HANGS_UP_S = 90.0

MACHINE_GREETING = (
    "Hi, you have reached Bob. I can't take your call right now. Please leave a message after the tone."
)


@dataclass(frozen=True)
class FarEnd:
    """What the stand-in does when one sample number is dialled, and the outcome the campaign should record.

    ``result`` is ``answer`` or the hangup cause the call fails with; ``script`` is what the answering
    party says, as (seconds after the answer, text) pairs rendered with Piper.
    """

    who: str
    outcome: str
    result: str = "answer"
    ring_s: float = 0.0
    script: tuple[tuple[float, str], ...] = ()

    def endpoint(self, voice: Path | None) -> Endpoint:
        """The stand-in's test hook that plays this far end."""
        answers = self.result == "answer"
        return Endpoint(
            result=self.result,
            answer_delay=self.ring_s,
            caller_audio=voice,
            hangup_after=FAR_END_HANGS_UP_S if answers else None,
        )


# Keyed by the E.164 form of the sample file's numbers. The person answers "Hello?" (the screening hears
# a human), then says yes once the agent has asked whether the appointment suits: its greeting and question
# end about 14.5 s after the answer on the 2-core machine, and the no-input timer gives 6 s. The machine's
# greeting is long enough to be a machine; the flow's voicemail message is left after it.
FAR_ENDS: Mapping[str, FarEnd] = {
    "+12125550101": FarEnd(
        "a person who confirms",
        "answered",
        ring_s=2.0,
        script=((0.5, "Hello?"), (17.0, "Yes, I will be there.")),
    ),
    "+12125550102": FarEnd("an answering machine", "answered", ring_s=3.0, script=((0.4, MACHINE_GREETING),)),
    "+12125550103": FarEnd("a busy line", "busy", result="USER_BUSY", ring_s=0.5),
    "+12125550104": FarEnd("nobody picks up", "no_answer", result="NO_ANSWER", ring_s=4.0),
    "+12125550105": FarEnd("a number not in service", "failed", result="UNALLOCATED_NUMBER", ring_s=0.5),
}


def demo_options(settings: Settings) -> CampaignOptions:
    """The sample campaign: three calls at a time, one retry a few seconds later, voicemail on machines."""
    return CampaignOptions(
        name="sample contacts (outbound demo)",
        flow=FLOW,
        max_concurrent=3,
        cps=1.0,
        retries=1,
        retry_delay_s=4,
        amd_action="voicemail",
        gateways=settings.gateway_names,
        caller_id=settings.caller_id_number,
        number_column="phone",
        default_region="US",
    )


def program_far_ends(switch: FakeSwitch, voices: Path) -> None:
    """Teach the stand-in what each sample number does (voices rendered into the ``voices`` folder)."""
    for number, far_end in FAR_ENDS.items():
        voice = None
        if far_end.script:
            voice = make_caller_wav(far_end.script, voices / f"demo-far-end-{number[1:]}.wav", tail_s=25.0)
        switch.add_endpoint(re.escape(number) + "$", far_end.endpoint(voice))


def run_outbound_demo(
    settings: Settings,
    *,
    timeout: float,
    echo: tuple[float, int] | None = None,
    console: Console | None = None,
) -> int:
    """Dial the sample campaign through the whole stack; 0 when it completed with the expected outcomes.

    ``echo`` is the stand-in lines' (gain dB, delay ms), None for clean lines; ``timeout`` bounds the
    dialling (the campaign is then left paused, as an interrupted ``campaign run`` leaves it).
    """
    out = console or Console()
    upgrade(settings.database_url)
    settings = settings.model_copy(
        update={"controller_port": 0, "media_port": 0, "flow": packaged_flow(FLOW), "brain": "flow"}
    )
    recordings = settings.recordings_dir.resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    out.print(
        f"[bold]Callbridge outbound demo[/]: a campaign of {SAMPLE_CONTACTS.name} with flow {FLOW};"
        " loading the models and rendering the voices…"
    )
    stack = Stack.build(settings, build_brain(settings, "flow"))
    switch = FakeSwitch(
        password=secrets.token_urlsafe(16),
        recordings_dir=recordings,
        gateways=settings.gateway_names,
        line_echo=LineEcho(*echo) if echo is not None else None,
    )
    try:
        program_far_ends(switch, stack.speech.directory)
        switch.start()
        stack.start(advertise_bound_media=True)
        # What dialplan/callbridge_outbound.xml does on a real switch: answered calls reach the controller.
        route_originated_calls(switch.dialplan, "127.0.0.1", stack.controller_port)
        dial_settings = settings.model_copy(
            update={
                "esl_host": switch.host,
                "esl_port": switch.esl_port,
                "esl_password": SecretStr(switch.password),
                "controller_port": stack.controller_port,
            }
        )
        _describe_far_ends(out, echo)
        store = open_store(settings)
        try:
            campaign_id = _dial(dial_settings, store, switch, timeout, out)
            rows = store.result_rows(campaign_id)
            for row in rows:  # the controller closes a call's record just after its hangup
                if row.get("answered_at") is not None:
                    stack.controller_finished(str(row.get("channel_uuid") or row["uuid"]), timeout=10)
            return _report(out, store, stack.call_log, campaign_id, rows, settings.database_url)
        finally:
            store.close()
    finally:
        stack.stop()
        switch.stop()


def _describe_far_ends(out: Console, echo: tuple[float, int] | None) -> None:
    line = "clean lines" if echo is None else f"lines echoing the agent at {echo[0]:g} dB, {echo[1]} ms late"
    out.print(f"FreeSWITCH stand-in ({line}) plays the far ends:", highlight=False)
    for number, far_end in FAR_ENDS.items():
        out.print(f"  {number}  {far_end.who}", highlight=False)


def _dial(settings: Settings, store: CampaignStore, switch: FakeSwitch, timeout: float, out: Console) -> str:
    """Import the sample and dial it as ``campaign run`` does; after ``timeout`` s stop and hang up."""
    with EslConnection(settings) as connection:
        campaign_id = import_file(settings, store, SAMPLE_CONTACTS, demo_options(settings), None)

        def give_up() -> None:
            out.print(f"[red]the campaign did not finish within {timeout:.0f} s; stopping it[/]")
            if connection.dialer is not None:
                connection.dialer.stop()
            for channel in list(switch.channels.values()):
                channel.hangup("NORMAL_CLEARING")

        watchdog = gevent.spawn_later(timeout, give_up)
        try:
            dial_with_progress(settings, store, campaign_id, connection, pause_on_stop=True)
        finally:
            watchdog.kill()
    return campaign_id


def _report(
    out: Console,
    store: CampaignStore,
    call_log: CallLog,
    campaign_id: str,
    rows: Sequence[Mapping[str, Any]],
    database_url: str,
) -> int:
    """Print the status, each contact's result and the answered calls' conversations; the exit code."""
    campaign = store.campaign(campaign_id)
    out.print()
    print_table(status_records([(campaign, store.counts(campaign_id))]), out)
    out.print(results_table(rows))
    unexpected = [
        f"{row['number']} ({FAR_ENDS[row['number']].who}): {row.get('outcome') or row.get('state')}"
        for row in rows
        if row.get("number") in FAR_ENDS and row.get("outcome") != FAR_ENDS[str(row["number"])].outcome
    ]
    for row in rows:
        if row.get("answered_at") is None:
            continue
        uuid = str(row.get("channel_uuid") or row["uuid"])
        out.print(f"\n[bold]{row['number']}[/] ({FAR_ENDS[row['number']].who}):", highlight=False)
        out.print(conversation(call_log.turns(uuid)), highlight=False)
        out.print(f"  (callbridge calls --events {uuid})", highlight=False, soft_wrap=True)
    out.print(
        f"\ncall log and campaign: {database_url}  (try: callbridge campaign status {campaign_id})",
        soft_wrap=True,
    )
    if campaign.status != "completed":
        out.print(f"[red]campaign {campaign_id} is {campaign.status}, not completed[/]")
        return 1
    if unexpected:
        out.print("[red]not the outcome the stand-in played:[/] " + "; ".join(unexpected), soft_wrap=True)
        return 1
    return 0


def results_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """One row per line of the file: the contact's outcome, attempts, last hangup cause and AMD verdict.

    A skipped line shows ``skipped`` and why. Numbers and causes never wrap (79 columns with the sample).
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", title="contacts")
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("number", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    table.add_column("cause", no_wrap=True)
    table.add_column("amd", no_wrap=True)
    for row in rows:
        skipped = row.get("state") == "rejected"
        table.add_row(
            str(row["line"]),
            str(row["number"]),
            _variable(row.get("variables"), "name"),
            "skipped" if skipped else str(row.get("outcome") or row.get("state")),
            "-" if skipped else str(row.get("attempts") or 0),
            str(row.get("outcome") if skipped else row.get("hangup_cause") or ""),
            str(row.get("amd_verdict") or ""),
        )
    return table


def conversation(turns: Sequence[TurnRow]) -> Table:
    """What was said on one call, a line per turn (long turns wrap under their text, not their speaker)."""
    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column()
    for turn in turns:
        grid.add_row(f"{turn.speaker}:", turn.text)
    return grid


def _variable(variables: object, name: str) -> str:
    """One of a contact's variables (stored as a JSON object); "" for a rejected line."""
    decoded = json.loads(variables) if isinstance(variables, str) else variables
    return str(decoded.get(name, "")) if isinstance(decoded, Mapping) else ""
