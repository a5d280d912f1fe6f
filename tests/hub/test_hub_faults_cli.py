"""`pitline hub serve` with no database URL: an embedded PostgreSQL in the data folder, migrated, serving;
stopping the hub stops its server, and a second start finds the data it left."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.fixtures.hubserver import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PITLINE_DATABASE_URL", "PITLINE_CONFIG")}
    env.update({"PITLINE_DATA_DIR": str(data), "PITLINE_CONFIG": str(data / "none.toml")})
    proc = subprocess.Popen([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(data / "serve.log").open("ab"),
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (data / "serve.log").read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the hub did not come up: " + (data / "serve.log").read_text()[-3000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def remove_leaving_no_server(folder: Path, pgdata: Path) -> None:
    """Stop whatever the hub left running in its folder, then remove the folder: no test leaves a server behind.
    (pg_ctl refuses to run as root, so signal the postmaster directly: SIGQUIT is an immediate shutdown.)"""
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)
    shutil.rmtree(folder, ignore_errors=True)


def test_serve_on_the_embedded_database_and_restart() -> None:
    # Not pytest's tmp_path: concurrent pytest runs of other engineers prune /tmp/pytest-of-<user> under us.
    tmp_path = Path(tempfile.mkdtemp(prefix="pitline-serve-"))
    pgdata = tmp_path / "hub" / "pgdata"
    try:
        for _ in range(2):
            port = free_port()
            proc = serve(tmp_path, port)
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/v1/sync/push", json={})
                assert r.status_code == 401 and r.json()["code"] == "unauthorized"
            finally:
                stop(proc)
        assert (pgdata / "PG_VERSION").exists()
    finally:
        remove_leaving_no_server(tmp_path, pgdata)


def _postmaster_running(pgdata: Path) -> bool:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else "(nothing printed)"


def test_serve_says_when_it_is_ready_and_sigterm_to_the_hub_alone_stops_its_database() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="pitline-serve-"))
    pgdata = tmp_path / "hub" / "pgdata"
    env = {k: v for k, v in os.environ.items() if k not in ("PITLINE_DATABASE_URL", "PITLINE_CONFIG")}
    env.update({"PITLINE_DATA_DIR": str(tmp_path), "PITLINE_CONFIG": str(tmp_path / "none.toml")})
    try:
        for workers in (1, 2):
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(port),
                                     "--workers", str(workers)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=(tmp_path / "serve.log").open("ab"), text=True, start_new_session=True)
            try:
                line = _first_line(proc, timeout=90)  # the first and only plain line
                assert line.startswith(f"hub ready at http://127.0.0.1:{port} "), \
                    line + (tmp_path / "serve.log").read_text()[-3000:]
                assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
                assert _postmaster_running(pgdata)
                proc.send_signal(signal.SIGTERM)  # the hub's own process, not its group: as systemd's stop does
                assert proc.wait(30) == 0
                deadline = time.monotonic() + 15
                while _postmaster_running(pgdata) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert not _postmaster_running(pgdata), f"the embedded PostgreSQL outlived the hub ({workers=})"
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
    finally:
        remove_leaving_no_server(tmp_path, pgdata)
