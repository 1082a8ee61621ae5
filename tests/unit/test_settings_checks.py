"""The vanilla ESL password is refused, and CALLBRIDGE_* typos are reported with the closest setting."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.config import SettingsError, load_settings


@pytest.mark.parametrize("password", ["ClueCon", "cluecon", ""])
def test_the_vanilla_or_an_empty_esl_password_is_refused(password: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"CALLBRIDGE_ESL_PASSWORD": password})
    message = str(error.value)
    assert "CALLBRIDGE_ESL_PASSWORD" in message and "must not be" in message


def test_an_unknown_variable_is_reported_with_the_closest_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_file = tmp_path / "callbridge.env"
    env_file.write_text("CALLBRIDGE_LLM_MODLE=x\n")
    with caplog.at_level(logging.WARNING, logger="app.config"):
        settings = load_settings(
            {"CALLBRIDGE_ESL_PROT": "8022", "CALLBRIDGE_ENV_FILE": str(env_file), "CALLBRIDGE_XYZZY": "1"}
        )
    assert settings.esl_port == 8021
    messages = [record.getMessage() for record in caplog.records]
    assert any("CALLBRIDGE_ESL_PROT" in m and "did you mean CALLBRIDGE_ESL_PORT?" in m for m in messages)
    assert any("CALLBRIDGE_LLM_MODLE" in m and "CALLBRIDGE_LLM_MODEL?" in m for m in messages)
    assert any("CALLBRIDGE_XYZZY" in m and "did you mean" not in m for m in messages)
    assert not any("CALLBRIDGE_ENV_FILE" in m for m in messages)
