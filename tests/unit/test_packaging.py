"""An installed Callbridge (the Docker image does `pip install .`) carries its migrations, flows and models."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_migrations_flows_models_and_web_page(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True, timeout=300, capture_output=True,
    )
    [wheel] = tmp_path.glob("callbridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(p.name for p in (REPO / "sql").glob("*.sql"))
    assert migrations and all(f"app/store/sql/{name}" in names for name in migrations)
    assert "app/dialog/flows/appointment_booking.yaml" in names
    assert "app/models/silero/silero_vad.onnx" in names
    assert "app/web/static/index.html" in names
