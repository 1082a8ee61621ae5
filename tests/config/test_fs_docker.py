"""What the Dockerfile, docker-compose.yml and the scripts in docker/ rely on, checked where it can run here."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
FETCH_SOURCE = REPO / "docker" / "fetch-source.sh"


def defaults() -> Settings:
    return Settings.model_validate({})


def instructions(name: str) -> list[str]:
    """The arguments of every Dockerfile instruction ``name``, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def test_every_copy_source_exists() -> None:
    copies = [args for args in instructions("COPY") if not args.startswith("--from=")]
    assert copies
    for args in copies:
        for source in args.split()[:-1]:
            assert (REPO / source).exists(), source


def test_every_source_is_pinned_to_a_full_commit() -> None:
    commits = dict(re.findall(r"^ARG (\w+_COMMIT)=(\S*)$", DOCKERFILE, re.MULTILINE))
    assert set(commits) >= {
        "FREESWITCH_COMMIT",
        "SOFIA_SIP_COMMIT",
        "SPANDSP_COMMIT",
        "LIBKS_COMMIT",
        "MOD_AUDIO_STREAM_COMMIT",
    }
    for name, commit in commits.items():
        assert re.fullmatch(r"[0-9a-f]{40}", commit), name
        assert f'"${name}"' in DOCKERFILE, f"{name} is never used"
    # The fixtures were captured with mod_audio_stream ec2a781.
    assert commits["MOD_AUDIO_STREAM_COMMIT"].startswith("ec2a781")
    assert "git clone" not in DOCKERFILE, "fetch by commit only (docker/fetch-source.sh)"


def test_modules_loaded_are_the_modules_built() -> None:
    loaded = {
        node.get("module")
        for node in ET.parse(REPO / "freeswitch-conf/autoload_configs/modules.conf.xml").iter("load")
    }
    lines = (REPO / "docker/modules.conf").read_text().splitlines()
    built = {line.strip().rsplit("/", 1)[-1] for line in lines if line.strip() and not line.startswith("#")}
    assert "COPY docker/build-freeswitch.sh docker/modules.conf /usr/src/recipe/" in DOCKERFILE
    assert "amigniter/mod_audio_stream.git" in DOCKERFILE
    assert 'test -f "$FS_PREFIX/mod/mod_audio_stream.so"' in DOCKERFILE
    assert loaded == built | {"mod_audio_stream"}


def test_the_runtime_is_python_311_on_bookworm_and_installs_the_repository() -> None:
    stages = instructions("FROM")
    assert stages[0].startswith("debian:bookworm")
    assert stages[-1].startswith("python:3.11-slim-bookworm")
    # The image installs the same pinned versions as scripts/bootstrap.sh and CI.
    assert "pip install --no-cache-dir -c /usr/src/callbridge/constraints.txt /usr/src/callbridge" in DOCKERFILE
    assert (REPO / "constraints.txt").is_file()


def test_image_and_compose_defaults_agree_with_the_settings() -> None:
    env = dict(re.findall(r"(CALLBRIDGE_[A-Z_]+)=(\S+)", " ".join(instructions("ENV"))))
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["callbridge"]["environment"]
    settings = defaults()
    for environment in (env, service):
        assert environment["CALLBRIDGE_MEDIA_URL"] == settings.media_url
        assert environment["CALLBRIDGE_CONTROLLER_HOST"] == settings.controller_host
        assert int(environment["CALLBRIDGE_CONTROLLER_PORT"]) == settings.controller_port
        assert int(environment["CALLBRIDGE_ESL_PORT"]) == settings.esl_port
    assert env["CALLBRIDGE_SPOOL_DIR"] == service["CALLBRIDGE_SPOOL_DIR"]
    assert "CALLBRIDGE_ESL_PASSWORD" not in env, "no password baked into the image"
    assert service["CALLBRIDGE_ESL_PASSWORD"].startswith("${CALLBRIDGE_ESL_PASSWORD:?")


def test_compose_publishes_the_rtp_range_freeswitch_uses() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["callbridge"]
    start, end = (
        service["environment"]["FREESWITCH_RTP_START_PORT"],
        service["environment"]["FREESWITCH_RTP_END_PORT"],
    )
    assert f"{start}-{end}:{start}-{end}/udp" in service["ports"]
    assert "5080:5080/udp" in service["ports"]


@pytest.mark.parametrize(
    "script", [ENTRYPOINT, FETCH_SOURCE, REPO / "docker" / "build-freeswitch.sh"], ids=lambda p: p.name
)
def test_scripts_are_valid_executable_bash(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert os.access(script, os.X_OK)


@pytest.mark.parametrize("password", [None, "", "ClueCon", "two words", 'quo"te'])
def test_entrypoint_refuses_a_missing_or_unsafe_esl_password(password: str | None) -> None:
    env = {"PATH": os.environ["PATH"], "CALLBRIDGE_SPOOL_DIR": "/nonexistent"}
    if password is not None:
        env["CALLBRIDGE_ESL_PASSWORD"] = password
    completed = subprocess.run(
        ["bash", str(ENTRYPOINT)], env=env, check=False, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 78, completed.stderr
    assert "CALLBRIDGE_ESL_PASSWORD" in completed.stderr


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str, str]:
    """A local repository with two commits: (path, first commit, second commit)."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    _git("init", "--quiet", cwd=repo)
    commits = []
    for text in ("one", "two"):
        (repo / "file.txt").write_text(text)
        _git("add", "file.txt", cwd=repo)
        _git(
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "--quiet",
            "-m",
            text,
            cwd=repo,
        )
        commits.append(_git("rev-parse", "HEAD", cwd=repo))
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=repo)
    return repo, commits[0], commits[1]


def test_fetch_source_checks_out_exactly_the_pinned_commit(
    upstream: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, first, _ = upstream
    target = tmp_path / "checkout"
    subprocess.run(
        ["bash", str(FETCH_SOURCE), f"file://{repo}", first, str(target)], check=True, capture_output=True
    )
    assert _git("rev-parse", "HEAD", cwd=target) == first
    assert (target / "file.txt").read_text() == "one"


@pytest.mark.parametrize("commit", ["main", "abc1234"])
def test_fetch_source_refuses_anything_but_a_full_hash(
    upstream: tuple[Path, str, str], tmp_path: Path, commit: str
) -> None:
    repo, _, _ = upstream
    completed = subprocess.run(
        ["bash", str(FETCH_SOURCE), f"file://{repo}", commit, str(tmp_path / "x")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert not (tmp_path / "x").exists()
