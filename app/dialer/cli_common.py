"""What the dialer's commands share: settings, the store, the ESL connection, consoles, option checks."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

if TYPE_CHECKING:
    from app.config import Settings
    from app.esl.inbound import InboundClient
    from app.store.campaigns import CampaignStore


def settings_or_exit() -> Settings:
    """The settings, or a click error saying what is wrong with them."""
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


def open_store(settings: Settings) -> CampaignStore:
    """The campaign store, or a click error."""
    from app.store.campaigns import CampaignStore  # noqa: PLC0415
    from app.store.errors import StoreError  # noqa: PLC0415

    try:
        return CampaignStore.open(settings.database_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def connect(settings: Settings, on_event: Any) -> InboundClient:
    """A connected ESL client, or a click error (no password, switch unreachable)."""
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


def now() -> datetime:
    return datetime.now(UTC)


def check_flow_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from app.dialer.flows import UnknownFlow, check_flow  # noqa: PLC0415

    if value is None:
        return None
    try:
        return check_flow(value)
    except UnknownFlow as exc:
        raise click.BadParameter(str(exc)) from None


def console(*, err: bool = False) -> Console:
    """A rich console on click's stdout (or stderr); a terminal gets live output, a pipe plain text."""
    return Console(file=sys.stderr if err else sys.stdout, soft_wrap=False)


FLOW_HELP = "The installed dialog flow the agent runs (e.g. appointment_reminder; default: CALLBRIDGE_FLOW)."
GATEWAY_HELP = "Trunk to dial through; repeat for failover, in order (default: CALLBRIDGE_GATEWAYS)."


