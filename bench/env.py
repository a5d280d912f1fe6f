"""What the benchmarks run against: a PostgreSQL (PITLINE_BENCH_DATABASE_URL or embedded), a hub process."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from pitline.harness import HubProcess, create_database, drop_database


@dataclass
class BenchEnv:
    server_url: str
    dsn: str
    hub: HubProcess
    tmp: Path


@contextmanager
def bench_env(workers: int = 1) -> Iterator[BenchEnv]:
    tmp = Path(tempfile.mkdtemp(prefix="pitline-bench-"))
    # Stores, logs and the embedded cluster of a 100M-row run are gigabytes: remove them at exit, registered
    # before the embedded server's own exit hook so it runs after the server has stopped (atexit is LIFO).
    atexit.register(shutil.rmtree, tmp, True)
    server = os.environ.get("PITLINE_BENCH_DATABASE_URL")
    if server is None:
        from hub.embedded import start_embedded

        server = start_embedded(tmp / "pgdata", delete_on_exit=True)
    dsn = create_database(server, "pitline_bench")
    hub = HubProcess(dsn, workers=workers, heartbeat_seconds=15)
    hub.start()
    try:
        yield BenchEnv(server, dsn, hub, tmp)
    finally:
        hub.stop()
        drop_database(server, dsn)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of processes (those that have exited count as nothing): a bench's cost per unit of
    work, comparable across runs on a shared box where rates are not."""
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total
