"""``campaign run``'s import: refuse a taken id, decode the file, import with a progress bar, report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.dialer.cli_common import console, now

if TYPE_CHECKING:
    from app.config import Settings
    from app.dialer.campaigns import CampaignOptions
    from app.dialer.csv_import import Rejected
    from app.store.campaigns import CampaignStore


def refuse_existing(store: CampaignStore, campaign_id: str, csv_file: Path) -> None:
    """Refuse an id already taken, saying exactly what to run instead."""
    from app.store.campaigns import CampaignStoreError  # noqa: PLC0415

    try:
        row = store.campaign(campaign_id)
    except CampaignStoreError:
        return
    if row.status in ("completed", "cancelled"):
        raise click.ClickException(
            f"campaign {campaign_id} already exists and is {row.status}; give {csv_file.name} another --id"
        )
    left = sum(v for k, v in store.counts(campaign_id).items() if not k.startswith(("done:", "rejected:")))
    raise click.ClickException(
        f"campaign {campaign_id} already exists ({row.status}, {left} contacts left, from {row.source});"
        f" to go on dialling it: callbridge campaign resume {campaign_id} --dial"
        f" (to import {csv_file.name} again as a new campaign, give another --id)"
    )


def import_file(
    settings: Settings, store: CampaignStore, csv_file: Path, options: CampaignOptions, dnc: Path | None
) -> str:
    """Import ``csv_file`` as a new campaign (status ``running``) and return its id; click errors otherwise."""
    from app.dialer.campaigns import NoContacts, import_campaign  # noqa: PLC0415
    from app.dialer.csv_import import CsvFormatError  # noqa: PLC0415
    from app.dialer.numbers import load_do_not_call  # noqa: PLC0415
    from app.dialer.policy import PolicyError  # noqa: PLC0415
    from app.dialer.text_files import FALLBACK, TextEncodingError, read_text  # noqa: PLC0415

    try:
        do_not_call = load_do_not_call(dnc or settings.dnc_file, settings.default_region)
        decoded = read_text(csv_file)
    except TextEncodingError as exc:
        raise click.ClickException(str(exc)) from None
    if decoded.encoding == FALLBACK:
        click.echo(f"{csv_file}: not UTF-8; read as Windows-1252", err=True)
    try:
        with ImportProgress(decoded.text.count("\n")) as progress:
            campaign_id, result = import_campaign(
                store,
                decoded.lines(),
                options,
                now=now(),
                do_not_call=do_not_call,
                source=csv_file.name,
                on_progress=progress.rows_done,
            )
    except NoContacts as exc:
        report_rejected(exc.result.rejected)
        skipped = f" ({len(exc.result.rejected)} lines skipped)" if exc.result.rejected else ""
        raise click.ClickException(f"no contacts in {csv_file}{skipped}") from None
    except (CsvFormatError, PolicyError) as exc:
        raise click.ClickException(f"{csv_file}: {exc}") from None
    report_rejected(result.rejected)
    click.echo(f"campaign {campaign_id}: {len(result.contacts)} contacts, {len(result.rejected)} skipped")
    return campaign_id


def report_rejected(rejected: list[Rejected]) -> None:
    """The first 50 skipped lines on stderr, with why."""
    for row in rejected[:50]:
        detail = f": {row.detail}" if row.detail and row.reason.value == "invalid" else ""
        click.echo(f"line {row.line}: skipped ({row.reason.value}) {row.raw_number!r}{detail}", err=True)
    if len(rejected) > 50:
        click.echo(f"... and {len(rejected) - 50} more skipped lines (see export)", err=True)


class ImportProgress:
    """A transient bar over the rows read, on a terminal only; stopped by ``with``, never by a generator."""

    def __init__(self, lines: int) -> None:
        from rich.progress import Progress  # noqa: PLC0415

        err_console = console(err=True)
        self._progress = Progress(console=err_console, transient=True) if err_console.is_terminal else None
        self._task = self._progress.add_task("importing", total=max(lines, 1)) if self._progress else None

    def __enter__(self) -> ImportProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rows_done(self, rows: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=rows)


