"""Shared test helpers: where the real FreeSWITCH captures live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "freeswitch-1.10.12"


@pytest.fixture(scope="session")
def fs_fixtures() -> Path:
    """The byte-exact FreeSWITCH 1.10.12 transcripts (``../shared/fixtures``)."""
    assert FIXTURES.is_dir(), f"missing the shared FreeSWITCH fixtures at {FIXTURES}"
    return FIXTURES
