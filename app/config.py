"""Settings: every knob comes from ``CALLBRIDGE_*`` environment variables (or an env file), checked once.

Nothing else in Callbridge reads the environment. ``load_settings()`` validates everything at start-up and
raises :class:`SettingsError` naming the variable and the bad value, so a typo fails fast instead of in the
middle of a call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CALLBRIDGE_"
ENV_FILE_VARIABLE = f"{ENV_PREFIX}ENV_FILE"

Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable and the value."""


class Settings(BaseSettings):
    """Typed settings. Field ``esl_port`` is read from ``CALLBRIDGE_ESL_PORT``, and so on."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    # Call log. Without a URL the embedded default is SQLite in the working directory.
    database_url: str = "sqlite:///callbridge.db"

    # FreeSWITCH's event socket (inbound ESL), used to originate calls and run API commands.
    esl_host: str = "127.0.0.1"
    esl_port: Port = 8021
    esl_password: SecretStr | None = None
    esl_connect_timeout: float = Field(default=5.0, gt=0)
    esl_command_timeout: float = Field(default=10.0, gt=0)
    esl_reconnect_min_delay: float = Field(default=0.5, gt=0)
    esl_reconnect_max_delay: float = Field(default=30.0, gt=0)

    # The controller's outbound-socket server: the dialplan's `socket <host>:<port> async full`.
    controller_host: str = "127.0.0.1"
    controller_port: Port = 8084
    max_calls: int = Field(default=500, ge=1)

    # The media worker's WebSocket server that mod_audio_stream connects to.
    media_host: str = "127.0.0.1"
    media_port: Port = 8090
    media_url: str = "ws://127.0.0.1:8090"
    # Rate of the audio forked to the worker; unset: the call's own (8 kHz narrowband, 16 kHz wideband).
    stream_rate: int | None = None

    # Speech out.
    spool_dir: Path = Path("spool")
    piper_voice: Path | None = None
    greeting_text: str = "Hello, this is the Callbridge assistant. How can I help you today?"
    goodbye_text: str = "Thank you for calling. Goodbye."
    no_input_timeout: float = Field(default=8.0, gt=0)
    max_no_input: int = Field(default=2, ge=1)

    # Recordings made by the FreeSWITCH stand-in during `callbridge demo`.
    recordings_dir: Path = Path("recordings")

    log_level: str = "INFO"

    @field_validator("stream_rate")
    @classmethod
    def _stream_rate_is_supported(cls, value: int | None) -> int | None:
        if value is not None and (value <= 0 or value % 8000):
            raise ValueError("must be 8000, 16000 or another multiple of 8000 (mod_audio_stream)")
        return value

    @field_validator("media_url")
    @classmethod
    def _media_url_is_websocket(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")) or any(c.isspace() for c in value):
            raise ValueError("must be a ws:// or wss:// URL without spaces")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        return value


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings once.

    ``environ`` defaults to the process environment; ``CALLBRIDGE_ENV_FILE`` may name an env file whose
    values the environment overrides. ``overrides`` (field names) win over both; the CLI uses them for flags.
    """
    env = dict(os.environ if environ is None else environ)
    env_file = env.get(ENV_FILE_VARIABLE)
    if env_file and not Path(env_file).is_file():
        raise SettingsError(f"{ENV_FILE_VARIABLE}={env_file!r}: no such file")
    values: dict[str, Any] = {}
    if env_file:
        values.update(_read_env_file(Path(env_file)))
    values.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
    fields = {f"{ENV_PREFIX}{name.upper()}": name for name in Settings.model_fields}
    init = {fields[key]: value for key, value in values.items() if key in fields}
    init.update(overrides)
    try:
        # Pass values explicitly so pydantic-settings does not read the environment a second time.
        return Settings.model_validate(init)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, init)) from None


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise SettingsError(f"{path}:{number}: expected NAME=value, got {raw!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _describe(exc: ValidationError, given: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"{ENV_PREFIX}{field.upper()}"
        shown = given.get(field, "<unset>")
        problems.append(f"{variable}={shown!r}: {error['msg']}")
    return "invalid settings: " + "; ".join(problems)
