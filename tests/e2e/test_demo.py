"""The suite's main job (`pitline demo`, what scripts/run.sh runs) end to end, as a user starts it."""

from __future__ import annotations

import os
import re
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
    # Every sample the fleet published is stored: the gateway's session existed before the fleet started.
    published = re.search(r"fleet simulator: ([\d,]+) telemetry samples", done.stdout)
    stored = re.search(r"edge agent: ([\d,]+) of ([\d,]+) samples stored", done.stdout)
    assert published and stored, done.stdout[-3000:]
    assert stored.group(1) == stored.group(2) == published.group(1), done.stdout[-3000:]
    assert "gateway-measured usage logs" in done.stdout
    verdict = done.stdout.strip().splitlines()[-1]
    assert verdict.startswith("demo PASSED: ") and "checks" in verdict, done.stdout[-2000:]
    folder = re.search(r"Pitline demo in (\S+)", done.stdout)
    assert folder and not Path(folder.group(1)).exists(), "the demo left its temporary folder behind"


def test_the_demo_fails_loudly_when_its_own_check_fails() -> None:
    # The run that stored 4,007 of 4,680 samples exited 0: a short count is a failed demo with its reason.
    from edge.ingest import IngestStats
    from pitline.demo import gateway_samples_ok, verdict

    assert not gateway_samples_ok(IngestStats(stored=4_007), 4_680, usage_logs=12)
    assert not gateway_samples_ok(IngestStats(stored=4_680), 4_680, usage_logs=0)
    assert gateway_samples_ok(IngestStats(stored=4_680, duplicates=53, dead_letters=5), 4_680, usage_logs=12)
    line, passed = verdict({"exactly once": True, "every gateway sample stored": False})
    assert not passed and line == "demo FAILED: every gateway sample stored"
    assert verdict({}) == ("demo FAILED: no check ran", False)
    assert verdict({"exactly once": True, "desktop check": True}, " (edge part skipped)") == \
        ("demo PASSED: 2 of 2 checks (edge part skipped)", True)


def test_run_sh_advertises_only_options_the_demo_has() -> None:
    # run.sh once promised --minutes and --gui, which `pitline demo` rejects: a newcomer's first error.
    from typer.main import get_command

    from pitline.demo import app

    command = get_command(app)
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    comments = " ".join(line for line in (ROOT / "scripts" / "run.sh").read_text().splitlines()
                        if line.startswith("#"))
    advertised = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", comments))
    assert advertised, "run.sh should say which options it passes on"
    assert advertised <= known, f"run.sh advertises {sorted(advertised - known)}; the demo has {sorted(known)}"


def test_the_desktop_check_leaves_no_store_behind(tmp_path: Path) -> None:
    # The demo runs it once per run: each left an encrypted store in /tmp.
    env = {**os.environ, "TMPDIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "pitline", "desktop", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "desktop check: window ready" in done.stdout, done.stdout + done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
