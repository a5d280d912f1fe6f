"""Soak: simulated users against a real hub for a bounded time (default one hour; PITLINE_SOAK_SECONDS,
PITLINE_SOAK_USERS to change), asserting no memory growth of the hub processes and no latency drift between
the first and the last window, and no errors. The same driver as `pitline bench --only load`."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator

import pytest

from bench.load_bench import LoadResult, drive, pct, provision_users
from bench.load_driver import ENDPOINTS, LoadConfig
from pitline.harness import HubProcess
from tests.fixtures.hubserver import private_hub

SECONDS = float(os.environ.get("PITLINE_SOAK_SECONDS", "3600"))
USERS = int(os.environ.get("PITLINE_SOAK_USERS", "200"))
RSS_TOLERANCE_MB = 30.0  # or 15% of the warmed-up size, whichever is larger
DRIFT_FACTOR, DRIFT_SLACK_MS = 1.5, 20.0


@pytest.fixture
def soak_hub(pg_server_url: str) -> Iterator[HubProcess]:
    with private_hub(pg_server_url, "pitline_soak", workers=2, heartbeat_seconds=15) as hub:
        yield hub


def windows(result: LoadResult) -> tuple[float, float, float]:
    """(warm-up end, first window end, last window start): the first tenth warms caches and pools."""
    warm = max(10.0, result.seconds * 0.1)
    width = max(20.0, min(300.0, (result.seconds - warm) / 4))
    return warm, warm + width, result.seconds - width


@pytest.mark.slow
@pytest.mark.timeout(int(SECONDS) + 600)
def test_soak_no_memory_growth_no_latency_drift(soak_hub: HubProcess) -> None:
    cfg = LoadConfig(users=USERS, seconds=SECONDS, tenants=3, sites_per_tenant=4, client_procs=2, seed=7)
    specs = provision_users(soak_hub.dsn, cfg)
    assert soak_hub.proc is not None
    result = drive(soak_hub.url, specs, cfg, soak_hub.proc.pid, workers=2)

    assert result.errors() == {}
    warm, first_end, last_start = windows(result)
    first = result.latencies(since=warm, until=first_end)
    last = result.latencies(since=last_start)
    assert len(first) > 100 and len(last) > 100
    p95_first, p95_last = pct(first, 95), pct(last, 95)
    per_endpoint = {name: (round(pct(result.latencies(i, warm, first_end), 95)),
                           round(pct(result.latencies(i, last_start), 95))) for i, name in enumerate(ENDPOINTS)}
    assert p95_last <= p95_first * DRIFT_FACTOR + DRIFT_SLACK_MS, (p95_first, p95_last, per_endpoint)

    rss_first = statistics.median(s.rss_mb for s in result.samples if warm <= s.t < first_end)
    rss_last = statistics.median(s.rss_mb for s in result.samples if s.t >= last_start)
    allowed = max(RSS_TOLERANCE_MB, 0.15 * rss_first)
    assert rss_last - rss_first <= allowed, (rss_first, rss_last, allowed)
    print(f"\nsoak {SECONDS:.0f} s, {USERS} users: {len(result.records):,} requests; p95 {p95_first:.1f} → "
          f"{p95_last:.1f} ms; hub RSS {rss_first:.0f} → {rss_last:.0f} MiB; p95 per endpoint (first, last window) "
          f"{per_endpoint}")
