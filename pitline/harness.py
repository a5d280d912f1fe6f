"""Run a real hub and a fresh database on this machine: used by the demo, the benchmarks and the tests.

Nothing here is a mock: a PostgreSQL (embedded, or the server you name), a uvicorn process serving the
hub, and the same provisioning the admin CLI does."""

from __future__ import annotations

import asyncio
import concurrent.futures
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(server_url: str, prefix: str = "pitline") -> str:
    """Create a fresh, uniquely named database on the server, migrate it to head, return its URL."""
    from hub.db import connect, with_database
    from hub.migrate import migrate

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"

    async def create() -> None:
        conn = await connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    run_sync(create())
    url = with_database(server_url, name)
    migrate(url)
    return url


def drop_database(server_url: str, url: str) -> None:
    from hub.db import connect

    name = urlsplit(url).path.lstrip("/")

    async def drop() -> None:
        conn = await connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run_sync(drop())


def provision_device(dsn: str, tenant_id: str, site_id: str | None, device_id: str, kind: str = "desktop") -> str:
    """Create tenant/site/device if missing and return a fresh access token for the device."""
    from hub.auth.tokens import ensure_tenant_site_device, issue_access_token
    from hub.db import connect

    async def run() -> str:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                await ensure_tenant_site_device(conn, tenant_id=tenant_id, site_id=site_id, device_id=device_id,
                                                kind=kind)
                return await issue_access_token(conn, tenant_id=tenant_id, device_id=device_id,
                                                ttl=timedelta(days=30))
        finally:
            await conn.close()

    return run_sync(run())


class HubProcess:
    """A hub served by uvicorn in its own process group; `kill()` is a real SIGKILL."""

    def __init__(self, dsn: str, *, port: int | None = None, workers: int = 1, env: dict[str, str] | None = None,
                 log_path: Path | None = None, heartbeat_seconds: float = 0.5) -> None:
        self.dsn = dsn
        self.port = port or free_port()
        self.workers = workers
        # Test and bench hubs post no depreciation by the wall clock (D79); a test that wants it passes env.
        self.extra_env = {"PITLINE_HEARTBEAT_SECONDS": str(heartbeat_seconds), "PITLINE_DEPRECIATION_SCHEDULE": "off",
                          **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"pitline-hub-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "PITLINE_DATABASE_URL": self.dsn, **self.extra_env}
        cmd = [sys.executable, "-m", "uvicorn", "hub.app:app_from_environment", "--factory",
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
               "--log-level", "warning", "--timeout-graceful-shutdown", "2",
               "--no-proxy-headers"]  # as `pitline hub serve` with no trusted proxies (D30)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}; log: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"hub did not answer within {timeout}s; log: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


# --- MQTT broker -------------------------------------------------------------------------------
CONFIG = ROOT / "installers" / "edge" / "mosquitto-pitline.conf"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None)


class Broker:
    def __init__(self, folder: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed: run scripts/setup.sh as root (it installs Debian's "
                               "package), or install it yourself")
        self.binary = binary
        self.folder = folder
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        lines = []
        for line in CONFIG.read_text().splitlines():
            if line.startswith("persistence_location"):
                line = f"persistence_location {self.folder}/"
            elif line.startswith("listener"):
                line = f"listener {self.port} {self.host}"
            lines.append(line)
        lines.append(f"log_dest file {self.folder}/mosquitto.log")
        # Started as root, mosquitto switches to its own user, which cannot write our temporary folder.
        lines.append(f"user {getpass.getuser()}")
        path = self.folder / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self._write_config())], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    log = (self.folder / "mosquitto.log").read_text()[-2000:]
                    raise RuntimeError(f"mosquitto exited: {log}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto writes its persistence file on the way out
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
