"""Settings come only from CALLBRIDGE_* variables (or an env file) and fail fast, naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import SettingsError, load_settings


def test_embedded_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///callbridge.db"
    assert (settings.controller_host, settings.controller_port) == ("127.0.0.1", 8084)
    assert settings.media_url == "ws://127.0.0.1:8090"
    assert settings.esl_password is None


def test_values_are_typed_and_unrelated_variables_ignored() -> None:
    settings = load_settings(
        {"CALLBRIDGE_ESL_PORT": "8022", "CALLBRIDGE_ESL_PASSWORD": "s3cret", "HOME": "/root", "CALLBRIDGE_LOG_LEVEL": "debug"}
    )
    assert settings.esl_port == 8022
    assert settings.esl_password is not None and settings.esl_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CALLBRIDGE_ESL_PORT", "eighty", "valid integer"),
        ("CALLBRIDGE_CONTROLLER_PORT", "70000", "less than or equal"),
        ("CALLBRIDGE_STREAM_RATE", "11025", "multiple of 8000"),
        ("CALLBRIDGE_MEDIA_URL", "http://x", "ws://"),
        ("CALLBRIDGE_DATABASE_URL", "mysql://x", "postgresql"),
        ("CALLBRIDGE_LOG_LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({variable: value})
    message = str(error.value)
    assert f"{variable}={value!r}" in message and says in message


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "callbridge.env"
    env_file.write_text("# comment\nCALLBRIDGE_ESL_PORT=9000\nexport CALLBRIDGE_GOODBYE_TEXT='Hi there'\n")
    settings = load_settings({"CALLBRIDGE_ENV_FILE": str(env_file), "CALLBRIDGE_ESL_PORT": "9001"})
    assert settings.esl_port == 9001
    assert settings.goodbye_text == "Hi there"


def test_missing_or_malformed_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file"):
        load_settings({"CALLBRIDGE_ENV_FILE": str(tmp_path / "nope.env")})
    bad = tmp_path / "bad.env"
    bad.write_text("CALLBRIDGE_ESL_PORT 9000\n")
    with pytest.raises(SettingsError, match=r"bad\.env:1"):
        load_settings({"CALLBRIDGE_ENV_FILE": str(bad)})


def test_nothing_else_reads_the_environment() -> None:
    app_dir = Path(__file__).resolve().parents[2] / "app"
    offenders = [
        str(path.relative_to(app_dir))
        for path in app_dir.rglob("*.py")
        if path.name != "config.py" and ("os.environ" in (text := path.read_text()) or "getenv(" in text)
    ]
    assert offenders == []


def test_every_setting_is_documented_for_admins() -> None:
    from app.config import Settings  # noqa: PLC0415

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [f"CALLBRIDGE_{name.upper()}" for name in Settings.model_fields if f"`CALLBRIDGE_{name.upper()}`" not in doc]
    assert missing == []
