"""``callbridge campaign ...`` and ``callbridge call NUMBER``: the dialer's command line.

The lead mounts :data:`campaign` and :data:`call` on the main ``callbridge`` group; ``python -m
app.dialer`` runs them standalone (with gevent patching, like ``callbridge`` itself).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from app.config import Settings
    from app.esl.inbound import InboundClient
    from app.esl.protocol import Event
    from app.store.campaigns import CampaignStore

log = logging.getLogger(__name__)


def _settings() -> Settings:
    from app.config import SettingsError, load_settings  # noqa: PLC0415

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
        )
    return settings


def _store(settings: Settings) -> CampaignStore:
    from app.store.campaigns import CampaignStore  # noqa: PLC0415
    from app.store.errors import StoreError  # noqa: PLC0415

    try:
        return CampaignStore.open(settings.database_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def _connect(settings: Settings, on_event: Any) -> InboundClient:
    from app.esl.inbound import Backoff, InboundClient  # noqa: PLC0415

    if settings.esl_password is None:
        raise click.ClickException("CALLBRIDGE_ESL_PASSWORD is not set")
    client = InboundClient(
        settings.esl_host,
        settings.esl_port,
        settings.esl_password.get_secret_value(),
        events=("BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE"),
        on_event=on_event,
        connect_timeout=settings.esl_connect_timeout,
        command_timeout=settings.esl_command_timeout,
        backoff=Backoff(settings.esl_reconnect_min_delay, settings.esl_reconnect_max_delay),
    )
    client.start()
    if not client.wait_connected(settings.esl_connect_timeout * 2):
        client.stop()
        raise click.ClickException(f"cannot reach FreeSWITCH at {settings.esl_host}:{settings.esl_port}")
    return client


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def campaign() -> None:
    """Outbound campaigns from a CSV: run, watch, pause, resume, cancel, export."""


@campaign.command("run")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="A name for the campaign (default: the file name).")
@click.option("--id", "campaign_id", help="The campaign id (default: generated).")
@click.option("--flow", help="The dialog flow the agent runs on answered calls.")
@click.option("--max-concurrent", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option(
    "--cps", type=click.FloatRange(min=0.01), default=1.0, show_default=True, help="Calls per second."
)
@click.option("--window", help="Local calling hours of the callee, e.g. 09:00-20:00.")
@click.option("--retries", type=click.IntRange(0, 20), default=2, show_default=True)
@click.option(
    "--retry-delay", type=click.IntRange(0), default=600, show_default=True, help="Seconds; doubles."
)
@click.option(
    "--amd", "amd_action", type=click.Choice(["continue", "hangup", "voicemail"]), default="continue"
)
@click.option(
    "--gateway", "gateways", multiple=True, help="Trunk(s) in order (default: CALLBRIDGE_GATEWAYS)."
)
@click.option("--number-column", help="CSV column with the phone number (default: setting).")
@click.option("--dnc", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Do-not-call list.")
@click.option("--import-only", is_flag=True, help="Store the campaign but do not dial.")
def run_campaign(csv_file: Path, import_only: bool, **given: Any) -> None:
    """Import CSV_FILE as a new campaign and dial it (Ctrl-C stops; `campaign dial ID` picks it up)."""
    from app.dialer.campaigns import CampaignOptions, import_campaign  # noqa: PLC0415
    from app.dialer.csv_import import CsvFormatError  # noqa: PLC0415
    from app.dialer.numbers import load_do_not_call  # noqa: PLC0415
    from app.dialer.policy import PolicyError  # noqa: PLC0415

    settings = _settings()
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
    do_not_call = load_do_not_call(given["dnc"] or settings.dnc_file, settings.default_region)
    store = _store(settings)
    try:
        with csv_file.open(encoding="utf-8-sig", newline="") as handle:
            campaign_id, result = import_campaign(
                store,
                _with_progress(handle, csv_file.stat().st_size),
                options,
                now=_now(),
                do_not_call=do_not_call,
                source=csv_file.name,
            )
    except (CsvFormatError, PolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    for row in result.rejected[:50]:
        click.echo(f"line {row.line}: skipped ({row.reason.value}) {row.raw_number!r}", err=True)
    if len(result.rejected) > 50:
        click.echo(f"... and {len(result.rejected) - 50} more skipped lines (see export)", err=True)
    click.echo(f"campaign {campaign_id}: {len(result.contacts)} contacts, {len(result.rejected)} skipped")
    if not import_only:
        _dial(settings, store, campaign_id)
    store.close()


def _with_progress(handle: IO[str], total: int) -> Iterator[str]:
    from rich.progress import Progress  # noqa: PLC0415

    with Progress(transient=True) as progress:
        task = progress.add_task("importing", total=total)
        pending = 0
        for number, line in enumerate(handle):
            pending += len(line)
            if number % 1000 == 0:  # the bar is redrawn ten times a second; no need to tell it every line
                progress.advance(task, pending)
                pending = 0
            yield line
        progress.advance(task, pending)


def _dial(settings: Settings, store: CampaignStore, campaign_id: str) -> None:
    from app.dialer.policy import sessions_per_second  # noqa: PLC0415
    from app.dialer.runner import Dialer, DialerConfig  # noqa: PLC0415

    dialer: Dialer | None = None

    def on_event(event: Event) -> None:
        if dialer is not None:
            dialer.on_event(event)

    client = _connect(settings, on_event)
    try:
        sps = sessions_per_second(client.api("status"))
        dialer = Dialer(
            store,
            client,
            campaign_id,
            DialerConfig(
                controller_host=settings.controller_host,
                controller_port=settings.controller_port,
                originate_timeout=settings.originate_timeout,
                caller_id_number=settings.caller_id_number,
                caller_id_name=settings.caller_id_name,
                max_cps=settings.max_cps,
                stale_after=settings.dialer_stale_after,
            ),
            switch_sps=sps,
        )
        try:
            summary = dialer.run()
        except KeyboardInterrupt:
            dialer.stop()
            raise
        click.echo(f"campaign {campaign_id}: {summary.stopped_because} after {summary.dialled} dials")
    finally:
        client.stop()


@campaign.command("dial")
@click.argument("campaign_id")
def dial_campaign(campaign_id: str) -> None:
    """Attach a dialer to CAMPAIGN_ID (after a crash, or to share the load with another host)."""
    settings = _settings()
    store = _store(settings)
    _dial(settings, store, campaign_id)
    store.close()


@campaign.command("status")
@click.argument("campaign_id", required=False)
def status_campaign(campaign_id: str | None) -> None:
    """Counts per state of one campaign, or every campaign's status."""
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    store = _store(_settings())
    try:
        rows = [store.campaign(campaign_id)] if campaign_id else store.campaigns()
        for row in rows:
            counts = store.counts(row.id)
            shown = ", ".join(f"{name}={count}" for name, count in sorted(counts.items()))
            click.echo(f"{row.id}  {row.status:<9}  {row.name}  {shown}")
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _set_status(campaign_id: str, status: str) -> None:
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    store = _store(_settings())
    try:
        store.set_status(campaign_id, status, _now())
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
@click.option("--dial", is_flag=True, help="Also attach a dialer in this process.")
def resume_campaign(campaign_id: str, dial: bool) -> None:
    """Let a paused campaign dial again, where it stopped."""
    _set_status(campaign_id, "running")
    if dial:
        settings = _settings()
        store = _store(settings)
        _dial(settings, store, campaign_id)
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

    store = _store(_settings())
    try:
        count = export_results(store, campaign_id, out)
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"wrote {count} rows to {out}")


@click.command("call")
@click.argument("number")
@click.option(
    "--gateway", "gateways", multiple=True, help="Trunk(s) in order (default: CALLBRIDGE_GATEWAYS)."
)
@click.option("--flow", help="The dialog flow the agent runs.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A variable for the flow.")
@click.option("--wait", is_flag=True, help="Wait for the end of the call and show its cause.")
def call(
    number: str, gateways: tuple[str, ...], flow: str | None, variables: tuple[str, ...], wait: bool
) -> None:
    """Call NUMBER now; the agent speaks first when it is answered."""
    from app.dialer.csv_import import variable_name  # noqa: PLC0415
    from app.dialer.dialstring import OutboundCall  # noqa: PLC0415
    from app.dialer.hangups import HangupWatch  # noqa: PLC0415
    from app.dialer.numbers import InvalidNumber, to_e164  # noqa: PLC0415
    from app.dialer.single import place_call  # noqa: PLC0415
    from app.domain import new_call_id  # noqa: PLC0415
    from app.esl.commands import UnsafeValue  # noqa: PLC0415
    from app.store import CallLog  # noqa: PLC0415

    settings = _settings()
    try:
        e164 = to_e164(number, settings.default_region)
    except InvalidNumber as exc:
        raise click.ClickException(f"{number!r}: {exc}") from None
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
        controller_host=settings.controller_host,
        controller_port=settings.controller_port,
        timeout=settings.originate_timeout,
        caller_id_number=settings.caller_id_number,
        caller_id_name=settings.caller_id_name,
        flow=flow,
        variables=parsed,
    )
    hangups = HangupWatch()
    client = _connect(settings, hangups.feed)
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
