"""The PyInstaller one-folder bundle builds and its headless check starts (slow: a full build)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_one_folder_bundle_starts_offscreen(tmp_path: Path) -> None:
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    if not pyinstaller.exists() and shutil.which("pyinstaller") is None:
        pytest.skip("pyinstaller is not installed (pip install -e '.[dev]')")
    build = subprocess.run([str(pyinstaller if pyinstaller.exists() else "pyinstaller"),
                            str(ROOT / "installers" / "desktop" / "pitline-desktop.spec"), "--noconfirm",
                            "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build")],
                           capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert build.returncode == 0, build.stderr[-3000:]
    exe = tmp_path / "dist" / "pitline-desktop" / "pitline-desktop"
    run = subprocess.run([str(exe), "check", "--store", str(tmp_path / "desk.db")], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "desktop check: window ready" in run.stdout
