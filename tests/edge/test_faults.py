"""Faults against a real Mosquitto and a real hub: a hub outage (the link cut by a TCP proxy), kill -9 of the
agent process at random points, a broker restart while publishing. Every sample the broker took reaches the
hub's telemetry store exactly once, and every derived usage log is applied once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge import storage
from edge.agent import EdgeAgent, EdgeConfig
from edge.simulator import fleet, publish, samples
from pitline.proxy import TcpProxy
from shared.store import KeyFileKeyProvider, LocalStore, PassphraseKeyProvider
from shared.telemetry import TelemetrySample, sample_points
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.mosquitto import Broker
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("fault test", n=2**10)
ROOT = Path(__file__).resolve().parents[2]


def fleet_data(machines: int, minutes: int, seed: int, start: datetime) -> list[tuple[str, dict[str, object]]]:
    """Exactly what `publish(..., noise=False)` sends for these arguments."""
    rnd = random.Random(seed)
    return samples(fleet(machines, rnd), start, minutes, rnd)


def points(data: list[tuple[str, dict[str, object]]]) -> int:
    keys = {(eq, p["ts"]): p for eq, p in data}
    return sum(len(sample_points(eq, TelemetrySample.model_validate(p))) for (eq, _), p in keys.items())


def hub_points(hub: HubProcess, tenant: str) -> int:
    return int(db_fetch(hub.dsn, "SELECT count(*) AS n FROM telemetry.samples WHERE tenant_id = $1", tenant)[0]["n"])


def hub_accepted(hub: HubProcess, tenant: str) -> int:
    rows = db_fetch(hub.dsn, "SELECT coalesce(sum(accepted), 0) AS n FROM telemetry.batches WHERE tenant_id = $1",
                    tenant)
    return int(rows[0]["n"])


def store_samples(store: LocalStore) -> set[tuple[str, str]]:
    return {(str(eq), str(ts)) for eq, ts in store.connection.execute("SELECT equipment_id, ts FROM samples")}


def iso(data: list[tuple[str, dict[str, object]]]) -> set[tuple[str, str]]:
    return {(eq, TelemetrySample.model_validate(p).ts.isoformat()) for eq, p in data}


def check_usage_logs_applied_once(hub: HubProcess, store: LocalStore, tenant: str, device: str) -> int:
    """Each derived usage log is one record at the hub with the edge's last derived hours; each mutation the
    edge numbered is in the hub's ledger once."""
    derived = {str(k).removeprefix("usage:"): orjson.loads(v) for k, v in store.connection.execute(
        "SELECT key, value FROM derived WHERE key LIKE 'usage:%'")}
    at_hub = {r["entity_id"]: r["data"] for r in db_fetch(
        hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'equipment.usage_log'",
        tenant)}
    assert derived and set(at_hub) == set(derived)
    for entity_id, payload in derived.items():
        assert {k: at_hub[entity_id].get(k) for k in payload} == payload, entity_id
    ledger = db_fetch(hub.dsn, "SELECT count(*) AS n, count(DISTINCT device_seq) AS d FROM sync.applied_mutations "
                               "WHERE tenant_id = $1 AND device_id = $2", tenant, device)[0]
    assert store.outbox_depth() == 0
    assert ledger["n"] == ledger["d"] == store.mutations_numbered
    return len(derived)


def drained(store_open: object, hub: HubProcess, tenant: str, want: int, samples_wanted: int) -> bool:
    assert callable(store_open)
    with store_open() as store:
        st = storage.uplink_status(store)
        return (store.connection.execute("SELECT count(*) FROM samples").fetchone()[0] >= samples_wanted
                and st["uplink_unsent_samples"] == 0 and st["uplink_open_batches"] == 0
                and store.outbox_depth() == 0 and hub_points(hub, tenant) >= want)


# --- (a) a hub outage ---------------------------------------------------------------------------------
def run_outage(broker: Broker, hub: HubProcess, tmp_path: Path, tenant: str, outage_seconds: float) -> None:
    site, device = f"{tenant}-site", "gw-out"
    token = provision_device(hub.dsn, tenant, site, device, kind="edge")
    proxy = TcpProxy("127.0.0.1", hub.port)
    path = tmp_path / "gw.db"
    config = EdgeConfig(tenant_id=tenant, site_id=site, device_id=device, store_path=path, passphrase="fault test",
                        broker_host=broker.host, broker_port=broker.port, hub_url=proxy.url, token=token,
                        derive_seconds=0.5)
    agent = EdgeAgent(config)
    agent._open = lambda: LocalStore.open(path, KEY)  # a cheaper KDF for the test
    assert agent.uplink is not None
    agent.uplink.idle_seconds = 0.3
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
    before = fleet_data(3, 6 * 60, 41, start)
    during = fleet_data(3, 7 * 60, 42, start + timedelta(hours=6))
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        publish(broker.host, broker.port, site, machines=3, minutes=6 * 60, seed=41, start=start, noise=False)
        assert wait_until(lambda: hub_points(hub, tenant) == points(before), 60)

        proxy.down()  # the site's uplink is gone
        cut_at = time.monotonic()
        publish(broker.host, broker.port, site, machines=3, minutes=7 * 60, seed=42,
                start=start + timedelta(hours=6), noise=False)
        assert wait_until(lambda: agent.ingest.stats.stored >= len(before) + len(during), 60)
        assert wait_until(lambda: agent.uplink is not None and agent.uplink.state.online is False, 30)
        while time.monotonic() - cut_at < outage_seconds:
            time.sleep(min(5.0, outage_seconds))
            assert hub_points(hub, tenant) == points(before)  # nothing gets through while the link is down
        with LocalStore.open(path, KEY) as store:
            assert store.outbox_depth() > 0  # usage logs derived meanwhile wait in the outbox
        proxy.up()
        want = points(before + during)
        assert wait_until(lambda: drained(lambda: LocalStore.open(path, KEY), hub, tenant, want,
                                          len(before) + len(during)), 180)
    finally:
        stop.set()
        runner.join(30)
        proxy.close()
    assert hub_points(hub, tenant) == hub_accepted(hub, tenant) == points(before + during)
    with LocalStore.open(path, KEY) as store:
        assert store_samples(store) == iso(before + during)
        check_usage_logs_applied_once(hub, store, tenant, device)


def test_a_hub_outage_loses_nothing_and_doubles_nothing(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    run_outage(mqtt_broker, live_hub, tmp_path, "t-fault-outage", outage_seconds=3)


@pytest.mark.slow
@pytest.mark.timeout(600 + 300)  # the outage itself outlasts the suite's default timeout
def test_a_ten_minute_hub_outage_loses_nothing_and_doubles_nothing(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    run_outage(mqtt_broker, live_hub, tmp_path, "t-fault-outage-10", outage_seconds=600)


# --- (b) kill -9 of the agent process -----------------------------------------------------------------
def agent_process(config: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "pitline", "edge", "run", "--config", str(config)], cwd=ROOT,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def connected(status: Path) -> bool:
    try:
        return bool(orjson.loads(status.read_bytes()).get("broker_connected"))
    except (OSError, orjson.JSONDecodeError):
        return False


def test_kill_9_of_the_agent_at_random_points_loses_no_acknowledged_sample_and_doubles_nothing(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    tenant, site, device = "t-fault-kill", "kill-site", "gw-kill"
    token = provision_device(live_hub.dsn, tenant, site, device, kind="edge")
    path, key_file = tmp_path / "gw.db", tmp_path / "store.kek"
    config = tmp_path / "edge.toml"
    config.write_text(f"""[edge]
tenant_id = "{tenant}"
site_id = "{site}"
device_id = "{device}"
store_path = "{path}"
key_file = "{key_file}"
broker_host = "{mqtt_broker.host}"
broker_port = {mqtt_broker.port}
hub_url = "{live_hub.url}"
token = "{token}"
derive_seconds = 0.5
""")
    status = path.with_name(path.name + ".status.json")
    log = tmp_path / "agent.log"
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
    data = fleet_data(3, 13 * 60, 43, start)
    rnd = random.Random(4)
    proc = agent_process(config, log)
    kills = 0
    try:
        assert wait_until(lambda: connected(status), 60), log.read_text()[-2000:]
        publisher = threading.Thread(target=publish, args=(mqtt_broker.host, mqtt_broker.port, site),
                                     kwargs={"machines": 3, "minutes": 13 * 60, "seed": 43, "start": start,
                                             "rate": 400.0, "noise": False}, daemon=True)
        publisher.start()
        for _ in range(3):  # SIGKILL at random points: mid-ingest, mid-derive, mid-upload
            time.sleep(rnd.uniform(0.5, 2.5))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = agent_process(config, log)
        publisher.join(120)
        assert not publisher.is_alive()

        def opener() -> LocalStore:
            return LocalStore.open(path, KeyFileKeyProvider(key_file))

        assert wait_until(lambda: drained(opener, live_hub, tenant, points(data), len(data)), 180), \
            log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    assert kills == 3
    assert hub_points(live_hub, tenant) == hub_accepted(live_hub, tenant) == points(data)
    with opener() as store:
        assert store_samples(store) == iso(data)  # every sample the broker delivered, once
        check_usage_logs_applied_once(live_hub, store, tenant, device)


# --- (c) a broker restart while publishing ------------------------------------------------------------
def test_a_broker_restart_while_publishing_loses_nothing(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    tenant, site, device = "t-fault-broker", "broker-site", "gw-broker"
    token = provision_device(live_hub.dsn, tenant, site, device, kind="edge")
    path = tmp_path / "gw.db"
    config = EdgeConfig(tenant_id=tenant, site_id=site, device_id=device, store_path=path, passphrase="fault test",
                        broker_host=mqtt_broker.host, broker_port=mqtt_broker.port, hub_url=live_hub.url,
                        token=token, derive_seconds=0.5)
    agent = EdgeAgent(config)
    agent._open = lambda: LocalStore.open(path, KEY)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=8)
    data = fleet_data(3, 8 * 60, 44, start)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fault-broker-pub", protocol=mqtt.MQTTv5)
    pub.reconnect_delay_set(0.1, 1)
    acked: set[int] = set()  # PUBACKs from the broker, by message id
    pub.on_publish = lambda _c, _u, mid, _rc, _p: acked.add(mid)
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        pub.connect(mqtt_broker.host, mqtt_broker.port)
        pub.loop_start()
        mids = []
        for i, (equipment, payload) in enumerate(data):
            topic = f"site/{site}/equipment/{equipment}/telemetry"
            # While the broker is away paho answers "not connected" but keeps the QoS 1 message and sends it
            # after reconnecting, so `is_published()` (which raises on that answer) cannot be the test.
            mids.append(pub.publish(topic, orjson.dumps(payload), qos=1).mid)
            if i == len(data) // 2:
                mqtt_broker.restart()  # the broker stops (persisting its sessions) and comes back
            time.sleep(0.001)
        assert wait_until(lambda: acked.issuperset(mids), 60), f"{len(set(mids) - acked)} never acknowledged"
        assert wait_until(lambda: drained(lambda: LocalStore.open(path, KEY), live_hub, tenant, points(data),
                                          len(data)), 120)
    finally:
        pub.disconnect()
        pub.loop_stop()
        stop.set()
        runner.join(30)
    assert hub_points(live_hub, tenant) == hub_accepted(live_hub, tenant) == points(data)
    with LocalStore.open(path, KEY) as store:
        assert store_samples(store) == iso(data)
