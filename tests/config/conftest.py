"""Fixtures for the FreeSWITCH configuration checks: the conf tree as the Dockerfile installs it."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fsxml import REFERENCE_ENVIRONMENT, Preprocessed, Preprocessor

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
_CONF_COPY = re.compile(r"^COPY\s+(?P<src>\S+?)/?\s+\$\{FS_PREFIX\}/conf/(?P<dest>\S*)$", re.MULTILINE)


def conf_copies() -> list[tuple[str, str]]:
    """(repository directory, path under the conf directory) for each COPY into the conf directory."""
    return [(m["src"], m["dest"].rstrip("/")) for m in _CONF_COPY.finditer(DOCKERFILE.read_text())]


@pytest.fixture(scope="session")
def conf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FreeSWITCH conf directory assembled exactly as the Dockerfile's COPY lines build it."""
    root = tmp_path_factory.mktemp("conf")
    copies = conf_copies()
    assert copies, "the Dockerfile copies nothing into ${FS_PREFIX}/conf"
    for source, destination in copies:
        shutil.copytree(REPO / source, root / destination, dirs_exist_ok=True)
    return root


@pytest.fixture(scope="session")
def preprocess(conf_dir: Path) -> Callable[[Mapping[str, str]], Preprocessed]:
    """Preprocess freeswitch.xml with a given process environment."""

    def run(environ: Mapping[str, str]) -> Preprocessed:
        return Preprocessor(environ).run(conf_dir / "freeswitch.xml")

    return run


@pytest.fixture(scope="session")
def loaded(preprocess: Callable[[Mapping[str, str]], Preprocessed]) -> Preprocessed:
    """The configuration with the reference environment."""
    return preprocess(REFERENCE_ENVIRONMENT)
