"""Dial a stored campaign from the command line, with live progress, over a checked ESL connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from app.dialer.cli_common import connect, console, now

if TYPE_CHECKING:
    from app.config import Settings
    from app.dialer.runner import Dialer
    from app.esl.inbound import InboundClient
    from app.esl.protocol import Event
    from app.store.campaigns import CampaignStore


class EslConnection:
    """The ESL connection a dialer uses, opened (and checked) before anything is stored."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialer: Dialer | None = None
        self.client: InboundClient | None = None

    def __enter__(self) -> EslConnection:
        self.client = connect(self.settings, self._on_event)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.client is not None:
            self.client.stop()

    def _on_event(self, event: Event) -> None:
        if self.dialer is not None:
            self.dialer.on_event(event)


def dial_with_progress(
    settings: Settings,
    store: CampaignStore,
    campaign_id: str,
    connection: EslConnection,
    *,
    pause_on_stop: bool,
) -> None:
    """Work the campaign with live progress; with ``pause_on_stop``, a campaign left unfinished is paused."""
    from app.dialer.dialer_setup import DialerConfig  # noqa: PLC0415
    from app.dialer.policy import sessions_per_second  # noqa: PLC0415
    from app.dialer.progress import ProgressView, run_with_progress  # noqa: PLC0415
    from app.dialer.runner import Dialer  # noqa: PLC0415
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    assert connection.client is not None
    try:
        connection.dialer = Dialer(
            store,
            connection.client,
            campaign_id,
            DialerConfig(
                originate_timeout=settings.originate_timeout,
                caller_id_number=settings.caller_id_number,
                caller_id_name=settings.caller_id_name,
                max_cps=settings.max_cps,
                stale_after=settings.dialer_stale_after,
            ),
            switch_sps=sessions_per_second(connection.client.api("status")),
        )
    except CampaignStoreError as exc:
        raise click.ClickException(str(exc)) from None
    summary = None
    try:
        with ProgressView(console(), f"campaign {campaign_id}") as view:
            summary = run_with_progress(store, connection.dialer, view)
    finally:
        stopped_because = summary.stopped_because if summary else "interrupted"
        if pause_on_stop and stopped_because not in ("completed", "cancelled", "paused"):
            store.set_status(campaign_id, "paused", now())
            stopped_because = "paused"
            click.echo(f"campaign {campaign_id}: continue with: callbridge campaign resume {campaign_id} --dial")
        click.echo(
            f"campaign {campaign_id}: {stopped_because} after {summary.dialled if summary else '?'} dials"
        )


