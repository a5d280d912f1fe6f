"""Push: drain an N-mutation backlog from one device's encrypted outbox to the hub, vs PouchDB
replicating N small docs to pouchdb-server (both over loopback HTTP, both persisting to disk)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import psutil

from bench.env import BenchEnv, cpu_seconds
from bench.report import Row
from pitline.harness import free_port, provision_device
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient

NODE_DIR = Path(__file__).parent / ".node"


def _server_processes(env: BenchEnv) -> list[psutil.Process]:
    """The embedded PostgreSQL's processes (its data folder is under the bench's tmp), else none."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if p.info["cmdline"] and str(env.tmp) in " ".join(p.info["cmdline"]):
            found += [p, *p.children(recursive=True)]
    return found


def ours(env: BenchEnv, n: int, cpu: dict[str, float] | None = None) -> float:
    key = PassphraseKeyProvider("bench", n=2**14)
    path = env.tmp / "push-device.db"
    store = LocalStore.open(path, key)
    store.set_identity(DeviceIdentity("bench-dev", "bench", "s1"))
    for i in range(0, n, 5000):
        store.enqueue_many([MutationDraft("forms.submission", f"F{k}", "create",
                                          {"form": "pre-start", "title": f"check {k}"}, "u1")
                            for k in range(i, min(n, i + 5000))])
    store.close()
    token = provision_device(env.dsn, "bench", "s1", "bench-dev")
    client = SyncClient(lambda: LocalStore.open(path, key), env.hub.url, lambda: token, batch_size=1000)
    hub = psutil.Process(env.hub.proc.pid) if env.hub.proc else None
    hub_procs = [hub, *hub.children(recursive=True)] if hub else []
    server = _server_processes(env)
    me = [psutil.Process()]
    before = [cpu_seconds(hub_procs), cpu_seconds(server), cpu_seconds(me)]
    started = time.perf_counter()
    done = client.push_until_empty()
    elapsed = time.perf_counter() - started
    after = [cpu_seconds(hub_procs), cpu_seconds(server), cpu_seconds(me)]
    if cpu is not None:  # where the time went, per mutation (the shared box's load does not inflate CPU time)
        for name, b, a in zip(("hub", "postgres", "client"), before, after, strict=True):
            cpu[name] = (a - b) / n * 1e6
    client.close_thread_store()
    if done != n:
        raise RuntimeError(f"pushed {done} of {n}")
    return n / elapsed


def pouchdb(tmp: Path, n: int) -> tuple[float | None, str]:
    server_bin = NODE_DIR / "node_modules" / ".bin" / "pouchdb-server"
    if not server_bin.exists() or shutil.which("node") is None:
        return None, "PouchDB not installed (scripts/bench.sh installs it with npm)"
    port = free_port()
    data = tmp / "pouch-data"
    data.mkdir()
    server = subprocess.Popen([str(server_bin), "--port", str(port), "--dir", str(data), "--no-stdout-logs"],
                              cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        env = {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")}
        out = subprocess.run(["node", str(Path(__file__).parent / "peers" / "pouch_replicate.js"),
                              f"http://127.0.0.1:{port}", str(n)], env=env, capture_output=True, text=True,
                             timeout=1200, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["docs"] != n:
            return None, f"PouchDB replicated {result['docs']} of {n}"
        return n / result["seconds"], "pouchdb-server on LevelDB (disk)"
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def run(env: BenchEnv, n: int) -> Row:
    peer, peer_note = pouchdb(env.tmp, n)
    cpu: dict[str, float] = {}
    mine = ours(env, n, cpu)
    ok = mine >= 5_000 and (peer is None or mine >= 2 * peer)
    spent = ", ".join(f"{k} {v:.0f} µs" for k, v in cpu.items())
    return Row("push: drain backlog to hub", mine, "mut/s", "PouchDB → pouchdb-server", peer, "≥ 5,000/s, ≥ 2× PouchDB",
               ok, note=f"{n:,} mutations; ours: encrypted read, HTTP, apply with conflict check, event log, ack "
                        f"(CPU per mutation: {spent}; load average {os.getloadavg()[0]:.1f}). Peer: {peer_note}")
