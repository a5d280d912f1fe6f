"""The site-scale proof (issue 7): three sites offline for a week, the link back under faults.

The default suite runs a small week (one day, few machines) with every fault; the slow test runs the
scenario at the size `pitline offline-week` uses by default. Both assert every operator check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pitline.offline_week import Plan, run_week


def _assert_all_checks(plan: Plan, server_url: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pitline-week-test-"))
    lines: list[str] = []
    try:
        result = run_week(server_url, folder, plan, log=lines.append)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
    assert not failed, (failed, lines)
    assert any("killed -9 after" in f for f in result.faults), result.faults
    assert "hub killed -9 and restarted" in result.faults


@pytest.mark.timeout(600)  # ~30 s on a quiet box; room for a loaded one
def test_a_small_offline_week_survives_the_faults(pg_server_url: str) -> None:
    _assert_all_checks(Plan(days=1, machines=6, items=8, moves_per_day=25, telemetry_machines=2,
                            telemetry_step_minutes=5, converge_seconds=200), pg_server_url)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_offline_week_at_default_scale(pg_server_url: str) -> None:
    _assert_all_checks(Plan(), pg_server_url)


def test_the_command_says_its_verdict_and_leaves_no_folder_behind(pg_server_url: str) -> None:
    env = {**os.environ, "PITLINE_WEEK_DATABASE_URL": pg_server_url, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "pitline", "offline-week", "--days", "1", "--machines", "2",
                           "--moves", "5", "--telemetry-machines", "1", "--step", "60", "--no-faults"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = re.search(r"Pitline offline week in (\S+)", done.stdout)
    assert folder and not Path(folder.group(1)).exists(), "the offline week left its folder behind"
