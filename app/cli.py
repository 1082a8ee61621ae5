"""The ``callbridge`` command line (started, gevent-patched, by :mod:`app.__main__`)."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("app.cli")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


class _SettingsProblem(click.ClickException):
    """A bad setting: exit code 2, like serve's missing password (restarting the service will not help)."""

    exit_code = 2


def _settings(**overrides: Any) -> Settings:
    from app.config import SettingsError, load_settings  # noqa: PLC0415

    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    if root is not None and isinstance(root.obj, dict) and root.obj.get("log_level"):
        overrides.setdefault("log_level", root.obj["log_level"])
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        raise _SettingsProblem(str(exc)) from None
    _configure_logging(settings.log_level)
    log.debug("settings loaded; log level %s", settings.log_level)
    return settings


class _LazyGroup(click.Group):
    """Imports the dialer's commands only when used, after gevent has patched the standard library."""

    lazy = {"call": "app.dialer.cli:call", "campaign": "app.dialer.cli:campaign"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="callbridge")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default=None,
    help="Log level on stderr. Default: CALLBRIDGE_LOG_LEVEL, else info.",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Callbridge: a voice AI agent on real phone calls, with FreeSWITCH as the media gateway.

    Settings come from CALLBRIDGE_* environment variables (see docs/configuration.md).
    """
    ctx.ensure_object(dict)["log_level"] = log_level


@cli.command()
@click.option(
    "--caller-text",
    default=None,
    help="One thing the simulated caller says (rendered with Piper); default: a booking dialogue.",
)
@click.option(
    "--caller-wav",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this WAV as the caller's voice instead.",
)
@click.option(
    "--call-type",
    type=click.Choice(["sip", "webrtc"]),
    default="sip",
    show_default=True,
    help="sip: an 8 kHz phone line (with echo); webrtc: a 48 kHz browser call.",
)
@click.option(
    "--brain",
    type=click.Choice(["flow", "llm"]),
    default="flow",
    show_default=True,
    help="Scripted flow, or an LLM over an OpenAI-compatible API.",
)
@click.option(
    "--llm-url",
    metavar="URL",
    help="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1. Default: CALLBRIDGE_LLM_BASE_URL.",
)
@click.option("--llm-model", metavar="NAME", help="Model name for --brain llm. Default: CALLBRIDGE_LLM_MODEL.")
@click.option(
    "--echo-db",
    type=click.FloatRange(max=0.0),
    default=-10.0,
    show_default=True,
    help="The stand-in's phone line echoes the agent's voice back into the caller's audio at this level.",
)
@click.option(
    "--echo-delay-ms",
    type=click.IntRange(0, 1000),
    default=60,
    show_default=True,
    help="How late the line's echo of the agent arrives (ms).",
)
@click.option("--no-echo", is_flag=True, help="A clean line: no echo at all.")
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Give up after this many seconds."
)
@click.option(
    "--outbound",
    is_flag=True,
    help="Instead: dial a sample campaign (app/dialer/data/sample_contacts.csv) through the stand-in,"
    " with live progress, then show its status.",
)
def demo(
    caller_text: str | None,
    caller_wav: Path | None,
    call_type: str,
    brain: str,
    llm_url: str | None,
    llm_model: str | None,
    echo_db: float,
    echo_delay_ms: int,
    no_echo: bool,
    timeout: float,
    outbound: bool,
) -> None:
    """Place one inbound call through the whole stack against the FreeSWITCH stand-in and show what happened.

    With --outbound, dial a sample campaign through it instead, as `campaign run` would.
    """
    from app.demo import run_demo  # noqa: PLC0415
    from app.dialog.factory import build_brain  # noqa: PLC0415

    echo = None if no_echo else (echo_db, echo_delay_ms)
    if outbound:
        from app.demo_outbound import run_outbound_demo  # noqa: PLC0415

        if caller_text or caller_wav or call_type != "sip" or brain != "flow":
            raise click.UsageError(
                "--outbound dials the sample campaign with the scripted appointment_reminder flow;"
                " --caller-text, --caller-wav, --call-type webrtc and --brain llm do not apply"
            )
        settings = _settings(no_input_timeout=6.0, max_no_input=1)
        sys.exit(run_outbound_demo(settings, timeout=timeout, echo=echo))
    settings = _settings(no_input_timeout=6.0, max_no_input=1, brain=brain)
    if brain == "llm":
        from app.llm_check import llm_unreachable  # noqa: PLC0415

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        problem = llm_unreachable(llm_url or settings.llm_base_url, key, settings.llm_connect_timeout)
        if problem:
            raise click.ClickException(f"{problem}: start the server or pass --llm-url")
    dialog = build_brain(settings, "llm" if brain == "llm" else "flow", llm_url=llm_url, llm_model=llm_model)
    code = run_demo(
        settings,
        dialog,
        caller_text=caller_text,
        caller_wav=caller_wav,
        call_type=call_type,
        timeout=timeout,
        echo=echo,
    )
    sys.exit(code)


@cli.command()
def serve() -> None:
    """Run the controller and the media worker against a real FreeSWITCH.

    \b
    Required settings:
      CALLBRIDGE_ESL_PASSWORD  FreeSWITCH's event socket password (not ClueCon)
      CALLBRIDGE_DATABASE_URL  postgresql://... in production (default: sqlite:///callbridge.db)

    \b
    Opens (defaults; all loopback):
      127.0.0.1:8084  controller, the dialplan's socket target (CALLBRIDGE_CONTROLLER_HOST/_PORT)
      127.0.0.1:8090  media worker WebSocket for mod_audio_stream (CALLBRIDGE_MEDIA_HOST/_PORT)
      127.0.0.1:8088  browser page at /phone (CALLBRIDGE_WEB_*; CALLBRIDGE_WEB_ENABLED=false: off)
      127.0.0.1:9464  /metrics, /healthz, /readyz (CALLBRIDGE_METRICS_*)
    and connects to FreeSWITCH's event socket at 127.0.0.1:8021 (CALLBRIDGE_ESL_HOST/_PORT).
    SIGTERM drains: no new calls, those in progress get CALLBRIDGE_SHUTDOWN_GRACE_SECONDS (30).
    """
    from app.serve import run_serve  # noqa: PLC0415

    sys.exit(run_serve(_settings()))


@cli.group()
def db() -> None:
    """Manage the call-log database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the SQL migrations in sql/ that this database has not seen (safe to repeat)."""
    from app.store import upgrade  # noqa: PLC0415

    settings = _settings()
    applied = upgrade(settings.database_url)
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


@cli.command()
@click.option(
    "--limit", type=click.IntRange(1, 10000), default=20, show_default=True, help="How many recent calls."
)
@click.option(
    "--events",
    "--turns",
    "events_of",
    metavar="UUID",
    help="Show one call's events, turns and latency per turn.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stable keys) instead of tables.")
def calls(limit: int, events_of: str | None, as_json: bool) -> None:
    """Recent calls as a table (or one call's events and turns)."""
    from app.report import call_detail_json, calls_json, print_call_detail, print_calls  # noqa: PLC0415
    from app.store import CallLog  # noqa: PLC0415

    settings = _settings()
    call_log = CallLog.open(settings.database_url)
    try:
        if events_of:
            if as_json:
                detail = call_detail_json(call_log, events_of)
                if detail is None:
                    raise click.ClickException(f"no call {events_of}")
                click.echo(detail)
            elif not print_call_detail(call_log, events_of):
                raise click.ClickException(f"no call {events_of}")
        elif as_json:
            click.echo(calls_json(call_log.recent_calls(limit)))
        else:
            print_calls(call_log.recent_calls(limit))
    finally:
        call_log.close()


def main() -> None:
    """Run without gevent's patching (tests); the ``callbridge`` command goes through :mod:`app.__main__`."""
    cli()
