"""The suite's main job (`pitline demo`, what scripts/run.sh runs) end to end, as a user starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_and_checks_itself() -> None:
    env = {**os.environ, "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "-m", "pitline", "demo", "--days", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "(exactly once)" in done.stdout
    assert "gateway-measured usage logs" in done.stdout
