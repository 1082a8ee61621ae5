"""``python -m app.dialer campaign ...`` / ``python -m app.dialer call ...`` without the main CLI."""

from __future__ import annotations

import sys

import click


def main() -> None:
    from gevent import monkey  # noqa: PLC0415 - before anything imports socket or threading

    monkey.patch_all()
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type] # see app/__main__.py
    from psycogreen.gevent import patch_psycopg  # noqa: PLC0415

    patch_psycopg()
    from app.dialer.cli import call, campaign  # noqa: PLC0415

    group = click.Group("dialer", commands={"campaign": campaign, "call": call})
    group()


if __name__ == "__main__":
    main()
