"""Load: N simulated users (default 500) against a real hub of W processes for a bounded time, loopback only.

Reports p50/p95/p99 per endpoint (client-measured, so it includes the client's own queueing on this machine),
errors (any status ≥ 400 or no answer), the hub processes' RSS and CPU (psutil, sampled every second), and
the offered rate. Target: API p95 ≤ 50 ms. The soak test (tests/hub/test_soak.py) drives the same users."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
import time
from dataclasses import dataclass, field

import psutil

from bench.load_driver import ENDPOINTS, LoadConfig, Record, UserSpec, drive_process, provision
from bench.report import Row
from pitline.harness import run_sync

TARGET_P95_MS = 50.0


@dataclass
class Sample:
    t: float
    rss_mb: float
    cpu_percent: float  # summed over the hub processes (100 = one core)
    machine_cpu_percent: float


@dataclass
class LoadResult:
    records: list[Record]
    samples: list[Sample]
    seconds: float
    workers: int
    users: int

    def latencies(self, endpoint: int | None = None, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return sorted(r[2] for r in self.records
                      if (endpoint is None or r[1] == endpoint) and since <= r[0] < until and 0 < r[3] < 400)

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            if r[3] == 0 or r[3] >= 400:
                key = f"{ENDPOINTS[r[1]]}:{r[3] or 'no answer'}"
                out[key] = out.get(key, 0) + 1
        return out


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


@dataclass
class ResourceSampler:
    """Every `interval` seconds: RSS and CPU of the hub's process tree (the supervisor and its workers)."""

    root_pid: int
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.root_pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _run(self, start: float) -> None:
        procs: dict[int, psutil.Process] = {}
        psutil.cpu_percent(None)
        while not self._stop.wait(self.interval):
            rss, cpu = 0.0, 0.0
            for p in self._tree():
                known = procs.setdefault(p.pid, p)
                try:
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
            self.samples.append(Sample(time.time() - start, rss, cpu, psutil.cpu_percent(None)))

    def start(self, start: float) -> None:
        for p in self._tree():
            p.cpu_percent(None)
        self._thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def drive(url: str, specs: list[UserSpec], cfg: LoadConfig, hub_pid: int, workers: int) -> LoadResult:
    """Run the users in `cfg.client_procs` client processes for `cfg.seconds`; sample the hub meanwhile."""
    procs = max(1, min(cfg.client_procs, len(specs)))
    start = time.time() + 8.0  # the client processes start (spawn, imports) before the clock runs
    sampler = ResourceSampler(hub_pid)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        futures = [pool.submit(drive_process, url, specs[i::procs], cfg, start, cfg.seed + i) for i in range(procs)]
        time.sleep(max(0.0, start - time.time()))
        sampler.start(start)
        records = [r for f in futures for r in f.result(timeout=cfg.seconds + 120)]
    sampler.stop()
    return LoadResult(records, sampler.samples, cfg.seconds, workers, len(specs))


def provision_users(dsn: str, cfg: LoadConfig) -> list[UserSpec]:
    return run_sync(provision(dsn, cfg))


def rows(result: LoadResult) -> list[Row]:
    label = f"load: {result.users} users, {result.workers} hub process{'es' if result.workers > 1 else ''}"
    out: list[Row] = []
    everything = result.latencies()
    for i, name in enumerate(ENDPOINTS):
        lat = result.latencies(i)
        if not lat:
            continue
        p95 = pct(lat, 95)
        out.append(Row(f"{label}: {name} p95", p95, "ms", "target", TARGET_P95_MS, "p95 ≤ 50 ms",
                       p95 <= TARGET_P95_MS,
                       note=f"{len(lat):,} ok; p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms"))
    p95 = pct(everything, 95)
    errors = result.errors()
    rate = len(result.records) / result.seconds
    rss = [s.rss_mb for s in result.samples] or [0.0]
    cpu = [s.cpu_percent for s in result.samples] or [0.0]
    machine = [s.machine_cpu_percent for s in result.samples] or [0.0]
    out.append(Row(f"{label}: all endpoints p95", p95, "ms", "target", TARGET_P95_MS, "p95 ≤ 50 ms",
                   p95 <= TARGET_P95_MS,
                   note=(f"{len(result.records):,} requests in {result.seconds:.0f} s ({rate:.0f}/s); p50 "
                         f"{pct(everything, 50):.1f} ms, p99 {pct(everything, 99):.1f} ms; hub RSS {rss[0]:.0f} → "
                         f"{rss[-1]:.0f} MiB (peak {max(rss):.0f}); hub CPU mean {sum(cpu) / len(cpu):.0f}% "
                         f"(100% = one core), machine CPU mean {sum(machine) / len(machine):.0f}%")))
    out.append(Row(f"{label}: errors", float(sum(errors.values())), "requests", "target", 0.0, "0",
                   not errors, note=", ".join(f"{k} ×{v}" for k, v in sorted(errors.items())) or "none"))
    return out


def run(workers: int, cfg: LoadConfig) -> list[Row]:
    """A fresh database and a hub of `workers` processes, the users provisioned, the load driven, rows back."""
    from bench.env import bench_env

    with bench_env(workers=workers) as env:
        specs = provision_users(env.dsn, cfg)
        assert env.hub.proc is not None
        result = drive(env.hub.url, specs, cfg, env.hub.proc.pid, workers)
    return rows(result)
