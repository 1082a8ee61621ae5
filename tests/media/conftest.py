"""Fixtures for the media worker's tests; the models behind them load once per test process."""

from __future__ import annotations

import pytest

from app.vad.silero import SileroModel, shared_model


@pytest.fixture(scope="session")
def silero() -> SileroModel:
    return shared_model()
