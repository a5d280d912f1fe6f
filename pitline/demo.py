"""`pitline demo`: the suite's main job on one machine, with real components only.

A hub on its embedded PostgreSQL; two sites, each with two site-office devices keeping encrypted stores.
The devices work offline (equipment register, hours per shift, breakdowns, stock issued from the same
bin at both offices), then the link comes up and they sync concurrently. The demo checks what an
operator would: every mutation applied exactly once, stock equal to the sum of both offices' issues,
every replica equal to the hub for what its site may see."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

from edge.agent import EdgeAgent
from edge.ingest import IngestStats
from pitline.harness import Broker, HubProcess, create_database, drop_database, provision_device, run_sync
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient

app = typer.Typer(help="Run the whole suite on this machine and check the result.")
console = Console()
TENANT = "demo-mine"
SITES = ("north-pit", "south-pit")


class DemoFailed(Exception):
    """A step of the demo could not be done; the message says which and why."""


@dataclass
class Office:
    name: str
    site: str
    path: Path
    key: PassphraseKeyProvider
    client: SyncClient | None = None
    queued: int = 0


def _work_offline(office: Office, days: int, rnd: random.Random) -> None:
    """A site office's days without network: what supervisors and storemen type."""
    store = LocalStore.open(office.path, office.key)
    store.set_identity(DeviceIdentity(office.name, TENANT, office.site))
    drafts: list[MutationDraft] = []
    fleet = [f"{office.site[:1].upper()}{kind}{n:02}" for kind in ("DT", "EX") for n in range(1, 6)]
    if office.name.endswith("-1"):  # the first office keeps the register and opens the store bin
        for unit_id in fleet:
            drafts.append(MutationDraft("equipment.unit", unit_id, "create", {
                "fleet_no": unit_id, "equipment_class": "truck" if "DT" in unit_id else "excavator",
                "make": "CAT", "status": "operating"}, "supervisor"))
        drafts.append(MutationDraft("inventory.movement", f"OPEN-{office.site}-FILTER", "create", {
            "kind": "receipt", "store_id": office.site, "item_id": "FILTER", "quantity": 500, "unit_cost": 4.5,
            "occurred_at": "2026-10-31T06:00:00+00:00", "note": "opening balance"}, "storeman"))
    start = date(2026, 11, 1)
    for d in range(days):
        for unit_id in fleet:
            for shift in ("day", "night"):
                worked = round(rnd.uniform(6, 11), 1)
                drafts.append(MutationDraft("equipment.usage_log", f"{unit_id}:{start + timedelta(d)}:{shift}:"
                                            f"{office.name}", "create", {
                    "equipment_id": unit_id, "shift_date": str(start + timedelta(d)), "shift": shift,
                    "operator": f"op-{rnd.randint(1, 40)}", "operating_hours": worked,
                    "standby_hours": round(12 - worked, 1), "source": "manual"}, "supervisor"))
        if rnd.random() < 0.4:
            drafts.append(MutationDraft("equipment.breakdown", f"BD-{office.name}-{d}", "create", {
                "equipment_id": rnd.choice(fleet), "started_at": f"{start + timedelta(d)}T09:30:00+08:00",
                "cause": "hydraulic hose", "severity": "medium", "source": "manual"}, "supervisor"))
    store.enqueue_many(drafts)
    office.queued += len(drafts)
    store.close()


def _issue_stock(office: Office, issues: int) -> int:
    """Filters issued from the shared bin at this office, offline: both offices' issues must count."""
    store = LocalStore.open(office.path, office.key)
    total = 0
    for n in range(issues):
        store.enqueue("inventory.movement", new_ulid(), "create", {  # the hub keeps the bin's balance (D27)
            "kind": "issue", "store_id": office.site, "item_id": "FILTER", "quantity": 2,
            "occurred_at": f"2026-11-01T{6 + n % 12:02}:00:00+00:00"}, actor="storeman")
        total += 2
    office.queued += issues
    store.close()
    return total


@app.callback(invoke_without_command=True)
def demo(
    days: int = typer.Option(7, min=1, max=60, help="offline days of site-office work"),
    keep: bool = typer.Option(False, help="keep the database and stores afterwards (printed)"),
) -> None:
    """Hub + embedded PostgreSQL + offline site offices syncing; checks exactly-once and convergence."""
    from hub.embedded import start_embedded, stop_embedded

    rnd = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="pitline-demo-"))
    console.print(f"[bold]Pitline demo[/bold] in {folder}")
    t0 = time.perf_counter()
    server = start_embedded(folder / "pgdata", delete_on_exit=not keep)
    dsn = create_database(server, "pitline_demo")
    hub = HubProcess(dsn, log_path=folder / "hub.log")
    hub.start()
    console.print(f"hub up at {hub.url} on embedded PostgreSQL ({time.perf_counter() - t0:.1f} s)")
    checks: dict[str, bool] = {}
    gateway = None
    skipped = ""
    try:
        try:
            gateway = _start_gateway(folder, dsn, hub.url)
        except DemoFailed as exc:
            checks[f"edge agent ({exc})"] = False
        if gateway is None and not checks:
            skipped = " (edge part skipped: no Mosquitto on this machine)"
        key = PassphraseKeyProvider("demo passphrase", n=2**14)
        offices = [Office(f"{site}-office-{n}", site, folder / f"{site}-office-{n}.db", key)
                   for site in SITES for n in (1, 2)]
        # Day 0: the first office of each site registers the fleet and the bin, and syncs once.
        for office in offices:
            if office.name.endswith("-1"):
                _work_offline(office, 0, rnd)
                token = provision_device(dsn, TENANT, office.site, office.name)
                SyncClient(lambda o=office: LocalStore.open(o.path, o.key), hub.url, lambda t=token: t).sync_once()
        for office in offices:
            token = provision_device(dsn, TENANT, office.site, office.name)
            office.client = SyncClient(lambda o=office: LocalStore.open(o.path, o.key), hub.url, lambda t=token: t)
            if office.name.endswith("-2"):
                _work_offline(office, 0, rnd)
                office.client.sync_once()  # the second office receives the register and the bin
        # The link goes down: a week of work, filters issued at both offices from the same bin.
        issued = {site: 0 for site in SITES}
        for office in offices:
            _work_offline(office, days, rnd)
            issued[office.site] += _issue_stock(office, rnd.randint(20, 60))
        queued = sum(o.queued for o in offices)
        console.print(f"offline: {queued:,} mutations queued in {len(offices)} encrypted stores over {days} days")
        # The link returns: every office syncs at once.
        stop = threading.Event()
        t_sync = time.perf_counter()
        threads = [threading.Thread(target=o.client.run, args=(stop,), daemon=True) for o in offices if o.client]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and any(
            o.client and (o.client.state.outbox_depth > 0 or o.client.state.last_push_at is None
                          or o.client.state.lag > 0) for o in offices):
            time.sleep(0.2)
        drain = time.perf_counter() - t_sync
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(15)
        checks.update(_check(dsn, offices, issued, drain))
        if gateway is not None:
            checks["every gateway sample stored"] = _check_gateway(dsn, gateway)
        checks["desktop check"] = _desktop_check(dsn, hub.url)
    except Exception as exc:  # a crash is a failed demo with its reason on the verdict line, not only a traceback
        console.print_exception()
        checks[f"the demo ran to the end ({type(exc).__name__}: {exc})"] = False
    finally:
        if gateway is not None:
            gateway.stop()
        hub.stop()
        if not keep:
            drop_database(server, dsn)
            stop_embedded(folder / "pgdata")
            shutil.rmtree(folder, ignore_errors=True)
        else:
            console.print(f"kept: {folder}")
    line, passed = verdict(checks, skipped)
    console.print(line, soft_wrap=True, highlight=False)
    if not passed:
        raise typer.Exit(1)


def verdict(checks: dict[str, bool], skipped: str = "") -> tuple[str, bool]:
    """The demo's last line, and whether it passed: any failed check (or none run at all) fails the demo."""
    failed = [name for name, passed in checks.items() if not passed]
    if failed or not checks:
        return f"demo FAILED: {'; '.join(failed) or 'no check ran'}", False
    return f"demo PASSED: {len(checks)} of {len(checks)} checks{skipped}", True


def gateway_samples_ok(stats: IngestStats, published: int, usage_logs: int) -> bool:
    """Every well-formed sample the simulator published is stored (its duplicates and malformed extras are not
    counted in `published`), and the gateway derived hours from them."""
    return stats.stored == published and usage_logs > 0


def _check(dsn: str, offices: list[Office], issued: dict[str, int], drain: float) -> dict[str, bool]:
    from hub.db import connect

    names = [o.name for o in offices]

    async def fetch() -> tuple[int, int, dict[tuple[str, str], tuple[int, dict[str, object]]]]:
        conn = await connect(dsn)
        try:
            ledger = await conn.fetchval("SELECT count(*) FROM sync.applied_mutations WHERE tenant_id = $1 "
                                         "AND device_id = ANY($2)", TENANT, names)
            distinct = await conn.fetchval("SELECT count(DISTINCT mutation_id) FROM sync.applied_mutations "
                                           "WHERE tenant_id = $1 AND device_id = ANY($2)", TENANT, names)
            rows = await conn.fetch("SELECT site_id, entity, entity_id, version, data FROM sync.records "
                                    "WHERE tenant_id = $1 AND NOT deleted", TENANT)
            return ledger, distinct, {(r["entity"], r["entity_id"]): (r["version"], r["data"], r["site_id"])
                                      for r in rows}  # type: ignore[misc]
        finally:
            await conn.close()

    ledger, distinct, hub_records = run_sync(fetch())
    queued = sum(o.queued for o in offices)
    table = Table(title="Pitline demo: the link came back")
    for col in ("office", "queued offline", "outbox now", "replica = hub", "filters on hand"):
        table.add_column(col)
    all_equal = True
    stock_ok = True
    for o in offices:
        store = LocalStore.open(o.path, o.key)
        local = {(r[0], r[1]): (r[2], r[3]) for r in store.connection.execute(
            "SELECT entity, entity_id, server_version, local_state FROM records WHERE deleted = 0")}
        mine = {k: (v, d) for k, (v, d, s) in hub_records.items() if s == o.site or s is None}
        equal = {k: (v, orjson.loads(s)) for k, (v, s) in local.items()} == mine
        all_equal &= equal
        bin_ = store.get("inventory.stock", f"{o.site}:FILTER")
        on_hand = None if bin_ is None or bin_.state is None else bin_.state.get("on_hand")
        stock_ok &= on_hand == 500 - issued[o.site]
        table.add_row(o.name, f"{o.queued:,}", str(store.outbox_depth()), "yes" if equal else "NO", str(on_hand))
        store.close()
    console.print(table)
    exactly_once = ledger == distinct == queued
    console.print(f"hub ledger: {ledger:,} applied mutations for {queued:,} queued "
                  f"({'exactly once' if exactly_once else 'MISMATCH'}); drain + convergence {drain:.1f} s "
                  f"(roadmap target ≤ 120 s)")
    console.print("stock: each bin = 500 − both offices' offline issues: " + ("yes" if stock_ok else "NO"))
    return {"exactly once": exactly_once, "every replica = hub": all_equal, "stock = serial replay": stock_ok}


def _desktop_check(dsn: str, hub_url: str) -> bool:
    """The desktop app, headless: a new site-office PC opens its store, builds its window, syncs once."""
    import subprocess
    import sys

    token = provision_device(dsn, TENANT, SITES[0], "north-pit-new-pc")
    done = subprocess.run([sys.executable, "-m", "pitline", "desktop", "check", "--hub-url", hub_url, "--token",
                           token, "--tenant", TENANT, "--site", SITES[0], "--device", "north-pit-new-pc"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("desktop check")), done.stderr[-500:])
    console.print(line)
    return done.returncode == 0


@dataclass
class Gateway:
    broker: Broker
    agent: EdgeAgent
    stop_event: threading.Event
    thread: threading.Thread
    published: int

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(20)
        self.broker.stop()


def _start_gateway(folder: Path, dsn: str, hub_url: str) -> Gateway | None:
    """A private Mosquitto with the gateway config, the edge agent, and 13 simulated hours of a fleet."""
    from edge.agent import EdgeAgent, EdgeConfig
    from edge.simulator import publish

    try:
        broker = Broker(folder / "mqtt")
        (folder / "mqtt").mkdir(exist_ok=True)
        broker.start()
    except RuntimeError as exc:
        console.print(f"[yellow]edge part skipped: {exc}[/yellow]")
        return None
    token = provision_device(dsn, TENANT, SITES[0], "north-gateway", kind="edge")
    config = EdgeConfig(tenant_id=TENANT, site_id=SITES[0], device_id="north-gateway",
                        store_path=folder / "north-gateway.db", key_file=folder / "north-gateway.kek",
                        broker_host=broker.host, broker_port=broker.port, hub_url=hub_url, token=token,
                        time_zone="Australia/Perth", derive_seconds=1.0)
    agent = EdgeAgent(config)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), name="edge-agent", daemon=True)
    thread.start()
    # The fleet must not start before the gateway's session exists: the broker drops what nobody subscribed to.
    if not agent.ingest.subscribed.wait(30):
        stop.set()
        thread.join(20)
        broker.stop()
        raise DemoFailed("the edge agent did not subscribe to the broker within 30 s")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
    published = publish(broker.host, broker.port, SITES[0], machines=6, minutes=13 * 60, seed=3, start=start)
    console.print(f"fleet simulator: {published:,} telemetry samples from 6 machines over 13 simulated hours "
                  f"→ Mosquitto → edge agent")
    return Gateway(broker, agent, stop, thread, published)


def _check_gateway(dsn: str, gateway: Gateway) -> bool:
    from hub.db import connect

    deadline = time.monotonic() + 60

    async def usage_logs() -> list[dict[str, object]]:
        conn = await connect(dsn)
        try:
            rows = await conn.fetch("SELECT data FROM sync.records WHERE tenant_id = $1 AND entity = "
                                    "'equipment.usage_log' AND data->>'source' = 'telematics'", TENANT)
            return [dict(r["data"]) for r in rows]
        finally:
            await conn.close()

    logs: list[dict[str, object]] = []
    stats = gateway.agent.ingest.stats
    while time.monotonic() < deadline:
        logs = run_sync(usage_logs())
        if logs and stats.stored >= gateway.published:
            break
        time.sleep(0.5)
    console.print(f"edge agent: {stats.stored:,} of {gateway.published:,} samples stored (encrypted), "
                  f"{stats.duplicates:,} duplicates ignored, {stats.dead_letters:,} malformed payloads "
                  f"dead-lettered; {len(logs)} gateway-measured usage logs (hours per shift) at the hub")
    return gateway_samples_ok(stats, gateway.published, len(logs))
