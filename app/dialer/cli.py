"""``callbridge campaign ...`` and ``callbridge call NUMBER``: the dialer's command line.

The lead mounts :data:`campaign` and :data:`call` on the main ``callbridge`` group; ``python -m
app.dialer`` runs them standalone (with gevent patching, like ``callbridge`` itself).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from app.dialer.cli_common import (
    FLOW_HELP,
    GATEWAY_HELP,
    check_flow_option,
    connect,
    console,
    now,
    open_store,
    settings_or_exit,
)
from app.dialer.cli_dial import EslConnection, dial_with_progress
from app.dialer.cli_import import import_file, refuse_existing


@click.group()
def campaign() -> None:
    """Outbound campaigns from a CSV: run, status, pause, resume, dial, cancel, export."""


@campaign.command("run")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="A name for the campaign (default: the file name without .csv).")
@click.option("--id", "campaign_id", help="The campaign id: letters, digits, _ . - (default: generated).")
@click.option("--flow", callback=check_flow_option, help=FLOW_HELP)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1, 10000),
    default=10,
    show_default=True,
    help="Most calls up at once (dialling or answered), across every dialer of the campaign.",
)
@click.option(
    "--cps",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Most new calls per second (also capped by CALLBRIDGE_MAX_CPS and the switch).",
)
@click.option(
    "--window",
    metavar="HH:MM-HH:MM",
    help="Calling hours in the callee's local time, e.g. 09:00-20:00; 20:00-09:00 spans midnight"
    " (default: any time).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=2,
    show_default=True,
    help="Extra attempts after a busy, unanswered or transiently failed call.",
)
@click.option(
    "--retry-delay",
    type=click.IntRange(0),
    default=600,
    show_default=True,
    help="Seconds before the first retry; doubles after each attempt (halved for busy).",
)
@click.option(
    "--amd",
    "amd_action",
    type=click.Choice(["continue", "hangup", "voicemail"]),
    default="continue",
    show_default=True,
    help="What to do when an answering machine picks up: carry on with the flow, hang up, or wait for"
    " the beep and leave the flow's voicemail message.",
)
@click.option("--gateway", "gateways", multiple=True, help=GATEWAY_HELP)
@click.option(
    "--number-column",
    help="CSV column holding the phone number (default: CALLBRIDGE_CAMPAIGN_NUMBER_COLUMN, else phone).",
)
@click.option(
    "--dnc",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Do-not-call list, one number per line (default: CALLBRIDGE_DNC_FILE, else none).",
)
@click.option(
    "--import-only",
    is_flag=True,
    help="Store the campaign (status paused) without dialling; dial it later with `campaign resume ID`.",
)
def run_campaign(csv_file: Path, import_only: bool, **given: Any) -> None:
    """Import CSV_FILE as a new campaign and dial it, showing live progress.

    Ctrl-C stops dialling and pauses the campaign; `campaign resume ID` goes on where it stopped.
    """
    from app.dialer.campaigns import CampaignOptions  # noqa: PLC0415
    from app.dialer.policy import PolicyError  # noqa: PLC0415

    settings = settings_or_exit()
    options = CampaignOptions(
        name=given["name"] or csv_file.stem,
        campaign_id=given["campaign_id"],
        flow=given["flow"],
        max_concurrent=given["max_concurrent"],
        cps=given["cps"],
        window=given["window"],
        retries=given["retries"],
        retry_delay_s=given["retry_delay"],
        amd_action=given["amd_action"],
        gateways=tuple(given["gateways"]) or settings.gateway_names,
        caller_id=settings.caller_id_number,
        number_column=given["number_column"] or settings.campaign_number_column,
        default_region=settings.default_region,
    )
    try:
        options.check()
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(settings)
    try:
        if options.campaign_id is not None:
            refuse_existing(store, options.campaign_id, csv_file)
        if import_only:
            campaign_id = import_file(settings, store, csv_file, options, given["dnc"])
            store.set_status(campaign_id, "paused", now())
            click.echo(
                f"campaign {campaign_id}: stored paused, nothing dialled"
                f" (dial it with: callbridge campaign resume {campaign_id} --dial)"
            )
            return
        # Settings and the switch first: a campaign is stored only when it can be dialled right away.
        with EslConnection(settings) as connection:
            campaign_id = import_file(settings, store, csv_file, options, given["dnc"])
            dial_with_progress(settings, store, campaign_id, connection, pause_on_stop=True)
    finally:
        store.close()


@campaign.command("dial")
@click.argument("campaign_id")
def dial_campaign(campaign_id: str) -> None:
    """Attach one more dialer to CAMPAIGN_ID (after a crash, or to share the load with another host).

    Stopping it leaves the campaign's status alone (other dialers may still be working it).
    """
    settings = settings_or_exit()
    store = open_store(settings)
    try:
        with EslConnection(settings) as connection:
            dial_with_progress(settings, store, campaign_id, connection, pause_on_stop=False)
    finally:
        store.close()


@campaign.command("status")
@click.argument("campaign_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (for scripts) instead of a table.")
def status_campaign(campaign_id: str | None, as_json: bool) -> None:
    """Contacts per state of one campaign, or of every campaign."""
    from app.dialer.status_view import print_json, print_table, status_records  # noqa: PLC0415
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    store = open_store(settings_or_exit())
    try:
        rows = [store.campaign(campaign_id)] if campaign_id else store.campaigns()
        records = status_records((row, store.counts(row.id)) for row in rows)
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if as_json:
        print_json(records, sys.stdout)
    else:
        print_table(records, console())


def _set_status(campaign_id: str, status: str) -> None:
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    store = open_store(settings_or_exit())
    try:
        store.set_status(campaign_id, status, now())
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"campaign {campaign_id}: {status}")


@campaign.command("pause")
@click.argument("campaign_id")
def pause_campaign(campaign_id: str) -> None:
    """Stop dialling new numbers (calls already up go on)."""
    _set_status(campaign_id, "paused")


@campaign.command("resume")
@click.argument("campaign_id")
@click.option(
    "--dial/--no-dial",
    default=True,
    show_default=True,
    help="Dial it in this process (--no-dial only marks it running, for dialers started with"
    " `campaign dial ID` on other hosts).",
)
def resume_campaign(campaign_id: str, dial: bool) -> None:
    """Let a paused (or imported) campaign dial again, where it stopped."""
    settings = settings_or_exit()
    if not dial:
        _set_status(campaign_id, "running")
        click.echo(f"no dialer attached here: start one with `callbridge campaign dial {campaign_id}`", err=True)
        return
    store = open_store(settings)
    try:
        with EslConnection(settings) as connection:  # the switch first: never `running` with no dialer
            _set_status(campaign_id, "running")
            dial_with_progress(settings, store, campaign_id, connection, pause_on_stop=True)
    finally:
        store.close()


@campaign.command("cancel")
@click.argument("campaign_id")
def cancel_campaign(campaign_id: str) -> None:
    """Stop for good: contacts not yet dialled are closed as cancelled."""
    _set_status(campaign_id, "cancelled")


@campaign.command("export")
@click.argument("campaign_id")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_campaign(campaign_id: str, out: Path) -> None:
    """Write one CSV row per input line: its state, outcome, last attempt and variables."""
    from app.dialer.campaigns import export_results  # noqa: PLC0415
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    store = open_store(settings_or_exit())
    try:
        count = export_results(store, campaign_id, out)
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"wrote {count} rows to {out}")


@click.command("call", short_help="Call NUMBER now; the agent speaks first.")
@click.argument("number")
@click.option("--gateway", "gateways", multiple=True, help=GATEWAY_HELP)
@click.option("--flow", callback=check_flow_option, help=FLOW_HELP)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="A variable for the flow, e.g. --var name=Ann; repeat for more (default: none).",
)
@click.option(
    "--wait", is_flag=True, help="Wait for the end of the call and show its cause (default: return once answered)."
)
def call(
    number: str, gateways: tuple[str, ...], flow: str | None, variables: tuple[str, ...], wait: bool
) -> None:
    """Call NUMBER now (E.164, e.g. +14155550123, or a national number); the agent speaks first."""
    from app.dialer.csv_import import variable_name  # noqa: PLC0415
    from app.dialer.dialstring import OutboundCall  # noqa: PLC0415
    from app.dialer.hangups import HangupWatch  # noqa: PLC0415
    from app.dialer.numbers import InvalidNumber, to_e164  # noqa: PLC0415
    from app.dialer.single import place_call  # noqa: PLC0415
    from app.domain import new_call_id  # noqa: PLC0415
    from app.esl.commands import UnsafeValue  # noqa: PLC0415
    from app.store import CallLog  # noqa: PLC0415

    settings = settings_or_exit()
    try:
        e164 = to_e164(number, settings.default_region)
    except InvalidNumber as exc:
        raise click.ClickException(exc.with_hint) from None
    parsed: dict[str, str] = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        parsed[variable_name(name)] = value
    outbound = OutboundCall(
        uuid=new_call_id(),
        number=e164,
        gateways=tuple(gateways) or settings.gateway_names,
        timeout=settings.originate_timeout,
        caller_id_number=settings.caller_id_number,
        caller_id_name=settings.caller_id_name,
        flow=flow,
        variables=parsed,
    )
    hangups = HangupWatch()
    client = connect(settings, hangups.feed)
    call_log = CallLog.open(settings.database_url)
    try:
        outcome = place_call(client, call_log, outbound, hangups=hangups, wait_for_hangup=wait)
    except UnsafeValue as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        call_log.close()
        client.stop()
    click.echo(f"call {outcome.uuid}: {outcome.result.text}")
    if outcome.hangup is not None:
        click.echo(
            f"ended: {outcome.hangup.cause} via {outcome.hangup.gateway} billsec={outcome.hangup.billsec}"
        )
    if not outcome.result.ok:
        sys.exit(1)
