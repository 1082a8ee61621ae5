"""The repository stands alone: nothing it ships, tests or documents reaches outside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Built from parts so this file does not match itself.
OUTSIDE = re.compile("|".join([re.escape("../" + "shared"), re.escape("/work/" + "shared")]))


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    # .ci/run is the one exception, by design: CI machines carry FreeSWITCH's pinned sources beside the
    # checkout, and it builds the real-switch tier from them when they are there (skipped otherwise).
    return [
        REPO / name
        for name in listed
        if not name.startswith("tests/fixtures/") and name != ".ci/run" and (REPO / name).is_file()
    ]


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


def test_the_freeswitch_fixtures_are_in_the_repository() -> None:
    fixtures = REPO / "tests" / "fixtures" / "freeswitch-1.10.12"
    transcripts = sorted(fixtures.glob("*.txt"))
    assert (fixtures / "README.md").is_file()
    assert len(transcripts) >= 15, transcripts
    # Byte-exact: each annotated transcript's received blocks add up to its .received.txt twin.
    marker = re.compile(rb"<<< received (\d+) bytes @[\d.]+s\n")
    checked = 0
    for annotated in transcripts:
        twin = annotated.with_name(annotated.name.replace(".txt", ".received.txt"))
        if annotated.name.endswith(".received.txt") or not twin.is_file():
            continue
        data, received, at = annotated.read_bytes(), b"", 0
        while (found := marker.search(data, at)) is not None:
            size = int(found.group(1))
            received += data[found.end() : found.end() + size]
            at = found.end() + size
        assert received == twin.read_bytes(), annotated.name
        checked += 1
    assert checked >= 5
