"""Load: N simulated users (default 500) against a real hub of W processes for a bounded time, loopback only.

Reports p50/p95/p99 per endpoint (client-measured, so it includes the client's own queueing on this machine),
errors (any status ≥ 400 or no answer), the hub processes' RSS and CPU (psutil, sampled every second), and
the offered rate. Target: API p95 ≤ 50 ms. The soak test (tests/hub/test_soak.py) drives the same users."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    db_cpu_percent: float = 0.0  # the PostgreSQL server's processes, when it runs on this machine and is known
    client_cpu_percent: float = 0.0  # the load driver's own client processes


@dataclass
class LoadResult:
    records: list[Record]
    samples: list[Sample]
    seconds: float
    workers: int
    users: int
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average at the start and the end

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
    """Every `interval` seconds: RSS and CPU of the hub's process tree (the supervisor and its workers), and the
    CPU of the database server's tree (`db_pid`: its postmaster) and of this process's other children (clients)."""

    root_pid: int
    db_pid: int | None = None
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _known: dict[int, psutil.Process] = field(default_factory=dict)

    @staticmethod
    def _tree(pid: int | None) -> list[psutil.Process]:
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self, procs: list[psutil.Process]) -> tuple[float, float]:
        """(summed CPU %, summed RSS MiB) since the previous call, per process object kept between calls."""
        cpu, rss = 0.0, 0.0
        for p in procs:
            known = self._known.setdefault(p.pid, p)
            try:
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
        return cpu, rss

    def _groups(self) -> tuple[list[psutil.Process], list[psutil.Process], list[psutil.Process]]:
        hub = self._tree(self.root_pid)
        skip = {p.pid for p in hub}
        clients = [p for p in psutil.Process().children(recursive=True) if p.pid not in skip]
        return hub, self._tree(self.db_pid), clients

    def _run(self, start: float) -> None:
        psutil.cpu_percent(None)
        while not self._stop.wait(self.interval):
            hub, db, clients = self._groups()
            hub_cpu, hub_rss = self._cpu(hub)
            self.samples.append(Sample(time.time() - start, hub_rss, hub_cpu, psutil.cpu_percent(None),
                                       self._cpu(db)[0], self._cpu(clients)[0]))

    def start(self, start: float) -> None:
        for group in self._groups():
            self._cpu(group)
        self._thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def postmaster_pid(pgdata: Path) -> int | None:
    """The embedded server's postmaster (first line of postmaster.pid), to sample its CPU."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def drive(url: str, specs: list[UserSpec], cfg: LoadConfig, hub_pid: int, workers: int,
          db_pid: int | None = None) -> LoadResult:
    """Run the users in `cfg.client_procs` client processes for `cfg.seconds`; sample the hub meanwhile."""
    procs = max(1, min(cfg.client_procs, len(specs)))
    start = time.time() + 8.0  # the client processes start (spawn, imports) before the clock runs
    sampler = ResourceSampler(hub_pid, db_pid)
    load_before = os.getloadavg()[0]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        futures = [pool.submit(drive_process, url, specs[i::procs], cfg, start, cfg.seed + i) for i in range(procs)]
        time.sleep(max(0.0, start - time.time()))
        sampler.start(start)
        records = [r for f in futures for r in f.result(timeout=cfg.seconds + 120)]
    sampler.stop()
    return LoadResult(records, sampler.samples, cfg.seconds, workers, len(specs), (load_before, os.getloadavg()[0]))


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
    db = [s.db_cpu_percent for s in result.samples] or [0.0]
    clients = [s.client_cpu_percent for s in result.samples] or [0.0]
    out.append(Row(f"{label}: all endpoints p95", p95, "ms", "target", TARGET_P95_MS, "p95 ≤ 50 ms",
                   p95 <= TARGET_P95_MS,
                   note=(f"{len(result.records):,} requests in {result.seconds:.0f} s ({rate:.0f}/s); p50 "
                         f"{pct(everything, 50):.1f} ms, p99 {pct(everything, 99):.1f} ms; hub RSS {rss[0]:.0f} → "
                         f"{rss[-1]:.0f} MiB (peak {max(rss):.0f}); hub CPU mean {sum(cpu) / len(cpu):.0f}% "
                         f"(100% = one core), PostgreSQL {sum(db) / len(db):.0f}%, load clients "
                         f"{sum(clients) / len(clients):.0f}%, whole machine {sum(machine) / len(machine):.0f}% of "
                         f"{psutil.cpu_count()} cores; CPU per request: hub {_per_request(cpu, rate):.2f} ms, "
                         f"PostgreSQL {_per_request(db, rate):.2f} ms, clients {_per_request(clients, rate):.2f} ms "
                         f"(comparable across runs when others share the box, unlike latency); load average "
                         f"{result.load_average[0]:.1f} → {result.load_average[1]:.1f}")))
    out.append(Row(f"{label}: errors", float(sum(errors.values())), "requests", "target", 0.0, "0",
                   not errors, note=", ".join(f"{k} ×{v}" for k, v in sorted(errors.items())) or "none"))
    return out


def _per_request(cpu_percent_samples: list[float], rate: float) -> float:
    """Milliseconds of CPU per request from the mean CPU (100 = one core) and the request rate."""
    if not rate:
        return float("nan")
    return sum(cpu_percent_samples) / len(cpu_percent_samples) * 10.0 / rate


def run(workers: int, cfg: LoadConfig) -> list[Row]:
    """A fresh database and a hub of `workers` processes, the users provisioned, the load driven, rows back."""
    from bench.env import bench_env

    with bench_env(workers=workers) as env:
        specs = provision_users(env.dsn, cfg)
        assert env.hub.proc is not None
        result = drive(env.hub.url, specs, cfg, env.hub.proc.pid, workers, postmaster_pid(env.tmp / "pgdata"))
    return rows(result)
