"""`pitline hub serve` as an administrator runs it, against the test database: forwarded headers are trusted
only from configured proxies (the sign-in rate limit cannot be dodged with X-Forwarded-For), and TLS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pitline.harness import ROOT, free_port

STRICT_SIGNIN = {"PITLINE_SIGNIN_RATE_BURST": "3", "PITLINE_SIGNIN_RATE_PER_MINUTE": "1"}


@contextmanager
def served(dsn: str, *args: str, env: dict[str, str] | None = None, scheme: str = "http",
           verify: str | bool = True, log: Path) -> Iterator[str]:
    """`pitline hub serve` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    full_env = {**os.environ, "PITLINE_DATABASE_URL": dsn, **(env or {})}
    full_env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own variable: the hub's setting must decide alone
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(port), *args],
                                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"hub serve exited {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{url}/healthz", verify=verify, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"hub serve did not answer: {log.read_text()[-2000:]}"
            time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def signin_statuses(url: str, forwarded_for: list[str]) -> list[int]:
    """One failed sign-in (an unknown name: no account lockout) per X-Forwarded-For value, from 127.0.0.1."""
    with httpx.Client(timeout=30) as c:
        return [c.post(f"{url}/v1/auth/signin", headers={"X-Forwarded-For": ip},
                       json={"username": "nobody-at-all", "password": "wrong password"}).status_code
                for ip in forwarded_for]


def test_x_forwarded_for_from_loopback_does_not_dodge_the_signin_limit_without_a_trusted_proxy(
        pg_dsn: str, tmp_path: Path) -> None:
    spoofed = [f"203.0.113.{i}" for i in range(1, 11)]  # a new "client" per attempt
    with served(pg_dsn, env=STRICT_SIGNIN, log=tmp_path / "hub.log") as url:
        statuses = signin_statuses(url, spoofed)
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}, statuses
    # A proxy is trusted only when it is the one configured: 127.0.0.1 is not 198.51.100.7.
    with served(pg_dsn, env={**STRICT_SIGNIN, "PITLINE_TRUSTED_PROXIES": "198.51.100.7"},
                log=tmp_path / "hub2.log") as url:
        statuses = signin_statuses(url, spoofed)
    assert set(statuses[3:]) == {429}, statuses


def test_x_forwarded_for_is_honoured_from_a_configured_proxy(pg_dsn: str, tmp_path: Path) -> None:
    env = {**STRICT_SIGNIN, "PITLINE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}
    with served(pg_dsn, env=env, log=tmp_path / "hub.log") as url:
        clients = signin_statuses(url, [f"203.0.113.{i}" for i in range(1, 11)])
        one_client = signin_statuses(url, ["198.51.100.20"] * 5)
        # Through two proxies (10.1.2.3 forwarded to us): the client is the address before the trusted ones.
        chained = signin_statuses(url, ["198.51.100.30, 10.1.2.3"] * 4)
    assert set(clients) == {401}, clients  # each forwarded client has its own bucket
    assert one_client == [401, 401, 401, 429, 429], one_client  # and the limit still holds per client
    assert chained == [401, 401, 401, 429], chained


def serve_fails(dsn: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PITLINE_DATABASE_URL": dsn, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pitline", "hub", "serve", "--port", str(free_port()), *args],
                          cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60)


def test_a_trusted_proxy_that_is_not_an_address_stops_serve_with_a_clear_error(pg_dsn: str) -> None:
    out = serve_fails(pg_dsn, env={"PITLINE_TRUSTED_PROXIES": "10.0.0.1, proxy.example"})
    assert out.returncode == 2 and "'proxy.example' is not an IP address or network" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
