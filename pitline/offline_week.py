"""`pitline offline-week`: the site-scale proof (issue 7), on one machine, with real components only.

One hub; 3 sites, each with 2 site-office desktops and 1 edge gateway fed by the fleet simulator through
the site's own Mosquitto. The desktops and one gateway lose the hub for a simulated week (their TCP proxy
goes down) while people keep working. Then the link returns while faults are injected: connections cut
through the proxies, the hub killed (-9) and restarted, a desktop killed mid-sync. At the end: every
mutation applied exactly once, stock and hours exactly as a serial replay predicts, every replica equal to
the hub, and the drain time (the roadmap asks ≤ 2 minutes)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

from edge.agent import EdgeAgent, EdgeConfig
from edge.simulator import fleet as sim_fleet
from edge.simulator import samples as sim_samples
from pitline import week_checks as checks
from pitline.harness import Broker, HubProcess, create_database, drop_database, provision_device
from pitline.proxy import TcpProxy
from pitline.week_work import Expected, Office, fleet_of, items_of, register_site, work_offline
from shared.store import LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient

app = typer.Typer(help="The offline week at site scale, with faults, and the checks an operator would make.")
console = Console()
TENANT = "pilbara-mining"
SITES = ("north-pit", "south-pit", "east-pit")
PASSPHRASE = "offline week"


@dataclass
class Plan:
    days: int = 7
    machines: int = 40  # per site, split between its two offices
    items: int = 30  # per site store
    moves_per_day: int = 180  # stock movements per office per day
    telemetry_machines: int = 8  # per site gateway
    telemetry_step_minutes: int = 5
    seed: int = 11
    faults: bool = True
    converge_seconds: float = 600.0


@dataclass
class Gateway:
    name: str
    site: str
    path: Path
    key: PassphraseKeyProvider
    broker: Broker
    proxy: TcpProxy
    agent: EdgeAgent
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    published: int = 0


@dataclass
class Result:
    checks: list[checks.Check]
    drain_seconds: float
    mutations: int
    samples: int
    faults: list[str]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def run_week(server_url: str, folder: Path, plan: Plan, log: Callable[[str], None] = console.print) -> Result:
    """The whole scenario against a PostgreSQL server (a database is created in it and dropped after)."""
    rnd = random.Random(plan.seed)
    dsn = create_database(server_url, "pitline_week")
    hub = HubProcess(dsn, log_path=folder / "hub.log", workers=2)
    hub.start()
    gateways: list[Gateway] = []
    try:
        key = PassphraseKeyProvider(PASSPHRASE, n=2**14)
        tokens: dict[str, str] = {}
        offices: list[Office] = []
        proxies: dict[str, TcpProxy] = {}
        for site in SITES:
            fleet = fleet_of(site, plan.machines)
            half = len(fleet) // 2
            for n, machines in ((1, fleet[:half]), (2, fleet[half:])):
                office = Office(f"{site}-office-{n}", site, TENANT, folder / f"{site}-office-{n}.db", key, machines)
                offices.append(office)
                tokens[office.name] = provision_device(dsn, TENANT, site, office.name)
                proxies[office.name] = TcpProxy("127.0.0.1", hub.port)
        gateways = [_start_gateway(folder, dsn, hub, site, key, rnd) for site in SITES]
        expected = Expected()

        # Day 0, online: the register, the bins and the PO; both offices of a site receive them.
        for site in SITES:
            first = next(o for o in offices if o.site == site)
            register_site(first, fleet_of(site, plan.machines), items_of(site, plan.items), expected)
            expected.approved_requests.add(f"REQ-{site}")
        clients = {o.name: _client(o, proxies[o.name].url, tokens[o.name]) for o in offices}
        for o in sorted(offices, key=lambda o: o.name):  # office-1 pushes before office-2 pulls
            clients[o.name].sync_once()
        log(f"day 0: hub at {hub.url} (2 processes), {len(offices)} offices and {len(gateways)} gateways enrolled; "
            f"{sum(o.queued for o in offices):,} register mutations synced")

        # The uplink goes down for the offices and for the first site's gateway.
        for p in proxies.values():
            p.down()
        gateways[0].proxy.down()
        t0 = time.perf_counter()
        for o in offices:
            work_offline(o, plan.days, plan.moves_per_day, items_of(o.site, plan.items), rnd, expected,
                         approver_level=0 if o.name.endswith("-1") else 1)
        offline_mutations = sum(o.queued for o in offices)
        log(f"offline week: {offline_mutations:,} mutations typed into {len(offices)} encrypted stores "
            f"({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        samples = _publish_week(gateways, plan)
        _wait_ingested(gateways)
        log(f"telemetry: {samples:,} samples published to 3 site brokers, stored by the gateways "
            f"({time.perf_counter() - t0:.1f} s); gateway {gateways[0].name} has had no hub all week")

        # The link returns, with faults.
        killed_office = next(o for o in offices if o.name == f"{SITES[0]}-office-2")
        victim = _spawn_store_sync(killed_office, proxies[killed_office.name].url, tokens[killed_office.name])
        for p in [*proxies.values(), gateways[0].proxy]:
            p.up()
        t_sync = time.perf_counter()
        stop = threading.Event()
        faults: list[str] = []
        threads = [threading.Thread(target=clients[o.name].run, args=(stop,), daemon=True)
                   for o in offices if o is not killed_office]
        for t in threads:
            t.start()
        if plan.faults:
            faults += _kill_mid_sync(victim, dsn, killed_office)
        else:
            victim.kill()
        late = threading.Thread(target=clients[killed_office.name].run, args=(stop,), daemon=True)
        late.start()  # the killed desktop is started again
        threads.append(late)
        if plan.faults:
            faults += _inject_faults(hub, [*proxies.values(), *(g.proxy for g in gateways)])
        per_device = _wait_converged([(o.name, o.site, clients[o.name]) for o in offices], gateways, dsn,
                                     timeout=plan.converge_seconds)
        drain = time.perf_counter() - t_sync
        drained = len(per_device) == len(offices) + len(gateways)
        slowest = sorted(per_device.items(), key=lambda kv: -kv[1])[:3]
        log("slowest to converge: " + ", ".join(f"{n} {t:.1f} s" for n, t in slowest))
        log(f"link back: drained and converged in {drain:.1f} s (roadmap ≤ 120 s) with faults: "
            f"{'; '.join(faults) or 'none'}" + ("" if drained else " [bold red]— NOT CONVERGED[/bold red]"))
        telemetry_wait = _wait_telemetry(gateways, timeout=plan.converge_seconds)
        telemetry_drain = None if telemetry_wait is None else time.perf_counter() - t_sync
        # Meanwhile the gateways may have derived and pushed more shifts: let every replica reach the head again
        # before the checks read them (the drain time above stays the first convergence).
        _wait_converged([(o.name, o.site, clients[o.name]) for o in offices], gateways, dsn, timeout=120)
        log("telemetry backlog at the hub after "
            + (f"{telemetry_drain:.1f} s" if telemetry_drain else "— NOT DRAINED"))
        stop.set()
        for t in threads:
            t.join(30)
        for gw in gateways:
            gw.stop.set()
        for gw in gateways:
            if gw.thread is not None:
                gw.thread.join(30)

        devices = checks.offices_as_devices(offices)
        gw_devices = [checks.Device(g.name, g.site, g.path, g.key) for g in gateways]
        results = [checks.exactly_once(dsn, TENANT, devices + gw_devices),
                   checks.nothing_rejected(devices + gw_devices),
                   *checks.stock_and_hours(dsn, TENANT, expected),
                   checks.second_receipts_held(dsn, TENANT, expected),
                   *checks.read_models(dsn, TENANT, expected),
                   checks.replicas_equal_hub(dsn, TENANT, devices),
                   checks.gateway_records(dsn, TENANT, gw_devices),
                   checks.telemetry_at_hub(dsn, TENANT, gw_devices),
                   checks.Check("drain time ≤ 120 s (mutations: outboxes empty, replicas at head)",
                                drained and drain <= 120, f"{drain:.1f} s; telemetry backlog "
                                + (f"{telemetry_drain:.1f} s" if telemetry_drain else "not drained"))]
        return Result(results, drain, offline_mutations, samples, faults)
    finally:
        for gw in gateways:
            gw.stop.set()
            if gw.thread is not None:
                gw.thread.join(10)
            gw.broker.stop()
            gw.proxy.close()
        hub.stop()
        drop_database(server_url, dsn)


def _client(office: Office, url: str, token: str) -> SyncClient:
    return SyncClient(office.open, url, lambda: token)


def _start_gateway(folder: Path, dsn: str, hub: HubProcess, site: str, key: PassphraseKeyProvider,
                   rnd: random.Random) -> Gateway:
    name = f"{site}-gateway"
    (folder / name).mkdir(exist_ok=True)
    broker = Broker(folder / name)
    broker.start()
    proxy = TcpProxy("127.0.0.1", hub.port)
    token = provision_device(dsn, TENANT, site, name, kind="edge")
    config = EdgeConfig(tenant_id=TENANT, site_id=site, device_id=name, store_path=folder / f"{name}.db",
                        passphrase=PASSPHRASE, broker_host=broker.host, broker_port=broker.port, hub_url=proxy.url,
                        token=token, time_zone="Australia/Perth", derive_seconds=1.0)
    agent = EdgeAgent(config)
    gw = Gateway(name, site, config.store_path, key, broker, proxy, agent)
    gw.thread = threading.Thread(target=agent.run, args=(gw.stop,), name=name, daemon=True)
    gw.thread.start()
    return gw


def _publish_week(gateways: list[Gateway], plan: Plan) -> int:
    """A week of each site's fleet, published QoS 1 to the site's broker, all sites at once."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=plan.days, hours=1)

    def publish(gw: Gateway, seed: int) -> None:
        rnd = random.Random(seed)
        machines = sim_fleet(plan.telemetry_machines, rnd, prefix=gw.site[:1].upper())  # = the registered fleet
        step = timedelta(minutes=plan.telemetry_step_minutes)
        data = sim_samples(machines, start, plan.days * 24 * 60, rnd, step=step)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"week-fleet-{gw.site}", protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.connect(gw.broker.host, gw.broker.port)
        client.loop_start()
        deadline = time.monotonic() + 30
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        window: list[mqtt.MQTTMessageInfo] = []
        for eq, body in data:
            window.append(client.publish(f"site/{gw.site}/equipment/{eq}/telemetry", orjson.dumps(body), qos=1))
            if len(window) >= 20_000:  # flow control: a million queued messages would only cost memory
                for info in window[:10_000]:
                    info.wait_for_publish(120)
                del window[:10_000]
        for info in window:
            info.wait_for_publish(120)
        client.disconnect()
        client.loop_stop()
        gw.published = len(data)

    threads = [threading.Thread(target=publish, args=(gw, n)) for n, gw in enumerate(gateways)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(g.published for g in gateways)


def _wait_ingested(gateways: list[Gateway], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(g.agent.ingest.stats.stored + g.agent.ingest.stats.duplicates >= g.published for g in gateways):
            break
        time.sleep(0.2)
    time.sleep(2.5)  # two derive rounds: the last shifts become usage logs


def _spawn_store_sync(office: Office, url: str, token: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pitline.sync_store", str(office.path), "--passphrase", PASSPHRASE,
                             "--hub-url", url, "--token", token, "--batch-size", "20"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_mid_sync(proc: subprocess.Popen[bytes], dsn: str, office: Office) -> list[str]:
    """SIGKILL the desktop once the hub has applied some, not all, of its outbox."""
    deadline = time.monotonic() + 60
    applied = 0
    while time.monotonic() < deadline and proc.poll() is None:
        applied = checks.fetch(dsn, "SELECT count(*) AS n FROM sync.applied_mutations WHERE tenant_id = $1 "
                                    "AND device_id = $2", TENANT, office.name)[0]["n"]
        if applied > office.queued // 10:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return [f"desktop {office.name} killed -9 after {applied:,} of {office.queued:,} mutations applied"]
    return [f"desktop {office.name} finished before the kill (exit {proc.returncode})"]


def _inject_faults(hub: HubProcess, proxies: list[TcpProxy]) -> list[str]:
    done: list[str] = []
    time.sleep(0.3)
    done.append(f"{sum(p.cut() for p in proxies)} connections cut")
    time.sleep(0.5)
    hub.kill()
    hub.start()
    done.append("hub killed -9 and restarted")
    time.sleep(1.0)
    done.append(f"{sum(p.cut() for p in proxies)} connections cut")
    return done


def _wait_converged(clients: list[tuple[str, str, SyncClient]], gateways: list[Gateway], dsn: str,
                    timeout: float) -> dict[str, float]:
    """Wait until every outbox is empty and every device's cursor is past the last event its site may see.
    Returns the seconds each device took to get there (missing: it never did)."""
    started = time.monotonic()
    deadline = started + timeout
    syncs = [*clients, *((g.name, g.site, g.agent.sync) for g in gateways if g.agent.sync is not None)]
    by_name = {g.name: g for g in gateways}
    gateway_names = set(by_name)
    converged: dict[str, float] = {}
    while time.monotonic() < deadline and len(converged) < len(syncs):
        visible = {r["site"]: r["top"] for r in checks.fetch(dsn, """
            SELECT s.site, (SELECT max(seq) FROM sync.events e WHERE e.tenant_id = $1
                            AND (e.site_id = s.site OR e.site_id IS NULL)) AS top
            FROM unnest($2::text[]) AS s(site)""", TENANT, list(SITES))}
        for name, site, c in syncs:
            s = c.state
            if name in gateway_names:  # it may have had nothing to send, or not have tried yet: ask its store
                outbox_empty = _store_outbox(by_name[name]) == 0
            else:
                outbox_empty = s.outbox_depth == 0 and s.last_push_at is not None
            if outbox_empty and s.cursor >= visible[site]:
                converged.setdefault(name, time.monotonic() - started)
            else:
                converged.pop(name, None)  # a device that fell behind again is not done
        time.sleep(0.2)
    return converged


def _wait_telemetry(gateways: list[Gateway], timeout: float) -> float | None:
    """Seconds until every gateway's uplink has no sample left that the hub has not acknowledged."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        if all(_unsent_samples(gw) == 0 for gw in gateways):
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def _store_outbox(gw: Gateway) -> int:
    store = LocalStore.open(gw.path, gw.key)
    try:
        return store.outbox_depth()
    finally:
        store.close()


def _unsent_samples(gw: Gateway) -> int:
    store = LocalStore.open(gw.path, gw.key)
    try:
        return int(store.connection.execute(
            "SELECT count(*) FROM samples WHERE uplink_batch IS NULL OR uplink_batch IN "
            "(SELECT batch_id FROM uplink_batches WHERE acked_at IS NULL AND rejected_at IS NULL)").fetchone()[0])
    finally:
        store.close()


@app.callback(invoke_without_command=True)
def offline_week(
    days: int = typer.Option(7, min=1, max=60, help="offline days"),
    machines: int = typer.Option(40, min=2, help="machines per site"),
    moves: int = typer.Option(180, min=0, help="stock movements per office per day"),
    telemetry_machines: int = typer.Option(8, min=1, help="machines reporting telemetry per site"),
    step: int = typer.Option(5, min=1, help="minutes between telemetry samples"),
    no_faults: bool = typer.Option(False, "--no-faults", help="let the link come back cleanly"),
    database_url: str = typer.Option(None, envvar="PITLINE_WEEK_DATABASE_URL",
                                     help="a PostgreSQL server to create the scenario's database in "
                                          "(default: an embedded one)"),
    keep: bool = typer.Option(False, help="keep the stores, logs and embedded database afterwards (printed)"),
) -> None:
    """Run the offline week and print the checks; exit 1 if any fails."""
    folder = Path(tempfile.mkdtemp(prefix="pitline-week-"))
    console.print(f"[bold]Pitline offline week[/bold] in {folder}")
    server = database_url
    if not server:
        from hub.embedded import start_embedded

        server = start_embedded(folder / "pgdata", delete_on_exit=True)
    plan = Plan(days=days, machines=machines, moves_per_day=moves, telemetry_machines=telemetry_machines,
                telemetry_step_minutes=step, faults=not no_faults)
    try:
        result = run_week(server, folder, plan)
    finally:
        if keep:
            console.print(f"kept: {folder}")
        else:  # six encrypted stores, three gateways' stores and a database: gigabytes over a few runs
            from hub.embedded import stop_embedded

            stop_embedded(folder / "pgdata")
            shutil.rmtree(folder, ignore_errors=True)
    table = Table(title="The offline week: what an operator checks")
    for col in ("check", "result", "detail"):
        table.add_column(col)
    for c in result.checks:
        table.add_row(c.name, "[green]yes[/green]" if c.passed else "[bold red]NO[/bold red]", c.detail)
    console.print(table)
    if not result.passed:
        raise typer.Exit(1)
