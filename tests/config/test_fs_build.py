"""docker/build-freeswitch.sh, the one FreeSWITCH build recipe, checked where it needs no compiler.

The build itself runs in the real-switch tier (about 10 minutes); here: the pins agree with the
Dockerfile's, the stamp makes a second run return at once, and the script refuses sources that are not
the pinned ones and prefixes it did not make, before it touches anything.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "build-freeswitch.sh"
DOCKERFILE = (REPO / "Dockerfile").read_text()
SOURCES = ("freeswitch", "sofia-sip", "spandsp", "libks", "mod_audio_stream", "libwsc")
DOCKER_ARGS = {
    "freeswitch": "FREESWITCH_COMMIT",
    "sofia-sip": "SOFIA_SIP_COMMIT",
    "spandsp": "SPANDSP_COMMIT",
    "libks": "LIBKS_COMMIT",
    "mod_audio_stream": "MOD_AUDIO_STREAM_COMMIT",
    "libwsc": "LIBWSC_COMMIT",
}


def script_pins() -> dict[str, str]:
    return dict(re.findall(r"^\s+\[([\w-]+)\]=([0-9a-f]{40})", SCRIPT.read_text(), re.MULTILINE))


def archive(path: Path, top: str, commit: str) -> None:
    """A tarball shaped like `git archive`'s: a pax global header carrying the commit, then one tree."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit}
    ) as tar:
        data = b"not a real source tree\n"
        info = tarfile.TarInfo(f"{top}/README")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue()))


def source_dir(root: Path, commits: dict[str, str]) -> Path:
    """A directory of tarballs with SHA256SUMS, one per source, of the given commits."""
    root.mkdir()
    lines = []
    for name in SOURCES:
        tarball = root / f"{name}-{commits[name][:7]}.tar.gz"
        archive(tarball, tarball.name.removesuffix(".tar.gz"), commits[name])
        lines.append(f"{hashlib.sha256(tarball.read_bytes()).hexdigest()}  {tarball.name}\n")
    (root / "SHA256SUMS").write_text("".join(lines))
    return root


def run(
    *args: str, env: dict[str, str] | None = None, script: Path = SCRIPT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_script_is_valid_executable_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    assert os.access(SCRIPT, os.X_OK)


def test_the_script_pins_the_dockerfile_commits() -> None:
    pins = script_pins()
    assert set(pins) == set(SOURCES)
    docker = dict(re.findall(r"^ARG (\w+_COMMIT)=(\S*)$", DOCKERFILE, re.MULTILINE))
    for name, arg in DOCKER_ARGS.items():
        assert docker[arg] == pins[name], name
    assert pins["freeswitch"].startswith("a88d069")  # v1.10.12
    assert pins["libks"].startswith("bae185d")  # v2.0.11: v2.0.6 does not build from a snapshot


def test_the_dockerfile_builds_with_the_script() -> None:
    assert "COPY docker/build-freeswitch.sh docker/modules.conf /usr/src/recipe/" in DOCKERFILE
    assert re.search(
        r"/usr/src/recipe/build-freeswitch\.sh /usr/src/freeswitch-src \"\$FS_PREFIX\"", DOCKERFILE
    )
    assert "--disable-fhs" in SCRIPT.read_text()  # the classic layout the Dockerfile and entrypoint use


def test_a_second_run_with_the_same_stamp_returns_at_once(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    stamp = run("--stamp", str(sources))
    assert stamp.returncode == 0, stamp.stderr
    assert re.fullmatch(r"[0-9a-f]{16}\n", stamp.stdout)
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (prefix / ".callbridge-build-stamp").write_text(stamp.stdout)
    started = time.monotonic()
    again = run(str(sources), str(prefix))
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{prefix}\n"
    assert "already built" in again.stderr
    assert time.monotonic() - started < 5


def test_without_a_prefix_it_builds_into_the_cache_named_by_the_stamp(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    stamp = run("--stamp", str(sources)).stdout.strip()
    cache = tmp_path / "cache"
    (cache / stamp).mkdir(parents=True)
    (cache / stamp / ".callbridge-build-stamp").write_text(stamp + "\n")
    done = run(str(sources), env={"CALLBRIDGE_FREESWITCH_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{cache / stamp}\n"


def test_the_stamp_follows_the_sources_and_modules_conf(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    first = run("--stamp", str(sources)).stdout
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    shutil.copy(SCRIPT, recipe / SCRIPT.name)
    modules = (REPO / "docker" / "modules.conf").read_text()
    (recipe / "modules.conf").write_text(modules + "# a comment changes nothing\n")
    assert run("--stamp", str(sources), script=recipe / SCRIPT.name).stdout == first
    (recipe / "modules.conf").write_text(modules + "applications/mod_sms\n")
    assert run("--stamp", str(sources), script=recipe / SCRIPT.name).stdout != first
    sums = (sources / "SHA256SUMS").read_text()
    spandsp = next(line for line in sums.splitlines() if "spandsp-" in line)
    (sources / "SHA256SUMS").write_text(sums.replace(spandsp[:64], "0" * 64))
    assert run("--stamp", str(sources)).stdout != first


def _refusal(tmp_path: Path, sources: Path) -> subprocess.CompletedProcess[str]:
    prefix = tmp_path / "prefix"
    done = run(str(sources), str(prefix), env={"CALLBRIDGE_BUILD_DIR": str(tmp_path / "work")})
    assert done.returncode != 0
    assert not (prefix / ".callbridge-build-stamp").exists()
    assert not (tmp_path / "work" / "src").exists()  # refused before unpacking anything
    return done


def test_it_refuses_a_tarball_of_another_commit(tmp_path: Path) -> None:
    commits = {**script_pins(), "libks": "3bc8dd0524a865becdd98c3806735eb306fe0a73"}  # v2.0.6
    done = _refusal(tmp_path, source_dir(tmp_path / "src", commits))
    assert "verify failed" in done.stderr
    assert "expected bae185d56da5b36807b539af0388403e85379305" in done.stderr


def test_it_refuses_a_tarball_that_does_not_match_its_checksum(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    tarball = next(sources.glob("sofia-sip-*.tar.gz"))
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    done = _refusal(tmp_path, sources)
    assert "FAILED" in done.stderr and "verify failed" in done.stderr


def test_it_refuses_a_source_missing_from_sha256sums(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    sums = (sources / "SHA256SUMS").read_text().splitlines()
    (sources / "SHA256SUMS").write_text("\n".join(line for line in sums if "libwsc" not in line) + "\n")
    done = run("--stamp", str(sources))
    assert done.returncode == 1 and "not listed in" in done.stderr


def test_it_never_builds_into_a_directory_it_did_not_make(tmp_path: Path) -> None:
    sources = source_dir(tmp_path / "src", script_pins())
    prefix = tmp_path / "usr-local"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "precious").write_text("keep me")
    done = run(str(sources), str(prefix), env={"CALLBRIDGE_BUILD_DIR": str(tmp_path / "work")})
    assert done.returncode == 1 and "was not made by this script" in done.stderr
    assert (prefix / "bin" / "precious").read_text() == "keep me"
