"""The edge's raw samples reach the hub's telemetry store exactly once: through crashes between saving and
sending a batch, a lost acknowledgement, a hub killed mid-upload, and end to end through a real Mosquitto."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from edge import storage
from edge.agent import EdgeAgent, EdgeConfig
from edge.simulator import fleet, publish, samples
from edge.uplink import Uplink
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from shared.telemetry import TelemetrySample, sample_points
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.mosquitto import Broker
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("uplink test", n=2**10)


def edge_store(path: Path, tenant: str, site: str, device: str) -> LocalStore:
    store = LocalStore.open(path, KEY)
    storage.prepare(store)
    if store.identity is None:
        store.set_identity(DeviceIdentity(device, tenant, site))
    return store


def fill(store: LocalStore, site: str, machines: int, minutes: int, seed: int, start: datetime) -> None:
    rnd = random.Random(seed)
    made = samples(fleet(machines, rnd), start, minutes, rnd)
    rows = [(site, eq, TelemetrySample.model_validate(p)) for eq, p in made]
    for i in range(0, len(rows), 5000):
        storage.write_batch(store, rows[i:i + 5000], [])


def expected_points(store: LocalStore) -> int:
    rows = store.connection.execute("SELECT equipment_id, body FROM samples")
    return sum(len(sample_points(eq, TelemetrySample.model_validate_json(body))) for eq, body in rows)


def hub_rows(hub: HubProcess, tenant: str) -> int:
    return int(db_fetch(hub.dsn, "SELECT count(*) AS n FROM telemetry.samples WHERE tenant_id = $1", tenant)[0]["n"])


def hub_batches(hub: HubProcess, tenant: str) -> list[dict[str, object]]:
    rows = db_fetch(hub.dsn, "SELECT batch_id, accepted, duplicates FROM telemetry.batches WHERE tenant_id = $1",
                    tenant)
    return [dict(r) for r in rows]


START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=20)


def test_stored_samples_drain_to_the_hub_once_and_a_second_drain_sends_nothing(
    live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-up", "north", "gw-1", kind="edge")
    store = edge_store(tmp_path / "gw.db", "t-up", "north", "gw-1")
    fill(store, "north", machines=4, minutes=600, seed=3, start=START)
    want = expected_points(store)
    uplink = Uplink(lambda: store, live_hub.url, lambda: token, batch_samples=700)
    with httpx.Client(timeout=60) as client:
        assert uplink.drain(store, client) == want
        assert uplink.drain(store, client) == 0
    assert hub_rows(live_hub, "t-up") == want
    status = storage.uplink_status(store)
    assert status["uplink_unsent_samples"] == 0 and status["uplink_open_batches"] == 0
    assert status["uplink_points_accepted"] == want
    edge_batches = store.connection.execute("SELECT count(*), sum(points) FROM uplink_batches").fetchone()
    assert edge_batches == (len(hub_batches(live_hub, "t-up")), want) and edge_batches[0] > 3
    reported = db_fetch(live_hub.dsn, "SELECT pending_samples, disk_bytes FROM telemetry.device_status "
                                      "WHERE tenant_id = 't-up' AND device_id = 'gw-1'")
    assert reported[0]["pending_samples"] == 0 and reported[0]["disk_bytes"] > 0
    store.close()


def test_a_batch_saved_before_a_crash_or_whose_ack_was_lost_is_resent_with_the_same_id(
    live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-up-crash", "north", "gw-1", kind="edge")
    path = tmp_path / "gw.db"
    store = edge_store(path, "t-up-crash", "north", "gw-1")
    fill(store, "north", machines=3, minutes=300, seed=4, start=START)
    want = expected_points(store)
    first = Uplink(lambda: store, live_hub.url, lambda: token, batch_samples=200)
    saved = first.make_batch(store)  # made and saved, then the agent dies before sending
    lost = first.make_batch(store)  # this one reaches the hub, but the answer never comes back
    assert saved and lost
    body = dict(storage.open_uplink_batches(store, 5))[lost]
    with httpx.Client(timeout=60) as client:
        assert first.send(client, lost, body) is not None
    store.close()

    store = edge_store(path, "t-up-crash", "north", "gw-1")  # the restarted agent
    again = Uplink(lambda: store, live_hub.url, lambda: token, batch_samples=200)
    with httpx.Client(timeout=60) as client:
        again.drain(store, client)
    assert hub_rows(live_hub, "t-up-crash") == want
    at_hub = {b["batch_id"]: b for b in hub_batches(live_hub, "t-up-crash")}
    at_edge = {r[0]: r[1:] for r in store.connection.execute(
        "SELECT batch_id, accepted, duplicates, acked_at FROM uplink_batches")}
    assert set(at_hub) == set(at_edge) and saved in at_hub and lost in at_hub
    assert all(a[2] is not None for a in at_edge.values())
    assert at_edge[lost][:2] == (at_hub[lost]["accepted"], 0)  # the replay answered the original counts
    assert sum(int(b["accepted"]) for b in at_hub.values()) == want  # type: ignore[call-overload]
    store.close()


def test_a_batch_the_hub_refuses_is_parked_and_the_rest_still_flows(live_hub: HubProcess, tmp_path: Path) -> None:
    token = provision_device(live_hub.dsn, "t-up-refuse", "north", "gw-1", kind="edge")
    store = edge_store(tmp_path / "gw.db", "t-up-refuse", "north", "gw-1")
    fill(store, "elsewhere", machines=1, minutes=30, seed=5, start=START - timedelta(hours=1))  # not its site
    fill(store, "north", machines=2, minutes=60, seed=6, start=START)
    north = sum(len(sample_points(eq, TelemetrySample.model_validate_json(body))) for eq, body in
                store.connection.execute("SELECT equipment_id, body FROM samples WHERE site_id = 'north'"))
    uplink = Uplink(lambda: store, live_hub.url, lambda: token)
    with httpx.Client(timeout=60) as client:
        assert uplink.drain(store, client) == north
    status = storage.uplink_status(store)
    assert status["uplink_rejected_batches"] == 1 and status["uplink_open_batches"] == 0
    reason = store.connection.execute("SELECT last_error FROM uplink_batches WHERE rejected_at IS NOT NULL").fetchone()
    assert reason[0]
    assert hub_rows(live_hub, "t-up-refuse") == north
    store.close()


def test_killing_the_hub_during_an_upload_loses_nothing_and_doubles_nothing(
    live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-up-kill", "north", "gw-1", kind="edge")
    path = tmp_path / "gw.db"
    with edge_store(path, "t-up-kill", "north", "gw-1") as store:
        fill(store, "north", machines=10, minutes=24 * 60, seed=7, start=START - timedelta(days=1))
        want = expected_points(store)
    uplink = Uplink(lambda: LocalStore.open(path, KEY), live_hub.url, lambda: token, batch_samples=1500,
                    idle_seconds=0.2)
    stop = threading.Event()
    runner = threading.Thread(target=uplink.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: uplink.state.batches_sent >= 2, 60)
        live_hub.kill()  # SIGKILL, mid-stream: a batch is in flight or about to be
        assert wait_until(lambda: uplink.state.online is False, 30)
        live_hub.start()
        assert wait_until(lambda: hub_rows(live_hub, "t-up-kill") >= want, 180)
        with LocalStore.open(path, KEY) as store:
            assert wait_until(lambda: storage.uplink_status(store)["uplink_open_batches"] == 0
                              and storage.uplink_status(store)["uplink_unsent_samples"] == 0, 60)
    finally:
        stop.set()
        runner.join(30)
    assert hub_rows(live_hub, "t-up-kill") == want
    with LocalStore.open(path, KEY) as store:
        edge_ids = {r[0] for r in store.connection.execute("SELECT batch_id FROM uplink_batches")}
        attempts = store.connection.execute("SELECT max(attempts) FROM uplink_batches").fetchone()[0]
    at_hub = hub_batches(live_hub, "t-up-kill")
    assert {b["batch_id"] for b in at_hub} == edge_ids
    assert sum(int(b["accepted"]) for b in at_hub) == want  # type: ignore[call-overload]
    assert attempts >= 1  # at least one batch met the dead hub and was sent again


def test_samples_published_to_mosquitto_reach_the_hub_exactly_once(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-up-e2e", "north", "gw-e2e", kind="edge")
    config = EdgeConfig(tenant_id="t-up-e2e", site_id="north", device_id="gw-e2e", store_path=tmp_path / "gw.db",
                        passphrase="uplink test", broker_host=mqtt_broker.host, broker_port=mqtt_broker.port,
                        hub_url=live_hub.url, token=token, derive_seconds=0.5)
    agent = EdgeAgent(config)
    agent._open = lambda: LocalStore.open(config.store_path, KEY)  # a cheaper KDF for the test
    assert agent.uplink is not None
    agent.uplink.idle_seconds = 0.3
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        sent = publish(mqtt_broker.host, mqtt_broker.port, "north", machines=3, minutes=240, seed=9,
                       start=START, noise=True)  # duplicates, late and malformed messages among them
        assert wait_until(lambda: agent.ingest.stats.stored >= sent, 60)

        def all_uploaded() -> bool:
            with LocalStore.open(config.store_path, KEY) as store:
                return storage.uplink_status(store)["uplink_unsent_samples"] == 0 \
                    and hub_rows(live_hub, "t-up-e2e") == expected_points(store)

        assert wait_until(all_uploaded, 90)
    finally:
        stop.set()
        runner.join(30)
    with LocalStore.open(config.store_path, KEY) as store:
        assert store.connection.execute("SELECT count(*) FROM samples").fetchone()[0] == sent
        want = expected_points(store)
    assert hub_rows(live_hub, "t-up-e2e") == want
    assert sum(int(b["accepted"]) for b in hub_batches(live_hub, "t-up-e2e")) == want  # type: ignore[call-overload]
    status = orjson.loads(config.status_path.read_bytes())
    assert status["uplink_unsent_samples"] == 0 and status["uplink_points_accepted"] == want


def test_an_unreadable_stored_sample_is_skipped_and_odd_fault_codes_still_upload(
    live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-up-odd", "north", "gw-1", kind="edge")
    store = edge_store(tmp_path / "gw.db", "t-up-odd", "north", "gw-1")
    odd = TelemetrySample.model_validate({"ts": START.isoformat(), "engine_status": "on",
                                          "fault_codes": [{"code": "ÜL 7/ß", "severity": "critical"}]})
    storage.write_batch(store, [("north", "DT01", odd)], [])
    with store.transaction() as conn:  # a row an older version stored in a shape this one cannot read
        conn.execute("INSERT INTO samples (equipment_id, ts, site_id, engine_on, body) VALUES (?, ?, ?, 1, ?)",
                     ("DT02", START.isoformat(), "north", '{"engine": "on"}'))
    uplink = Uplink(lambda: store, live_hub.url, lambda: token)
    with httpx.Client(timeout=60) as client:
        assert uplink.drain(store, client) == 2  # engine_on and the fault
    faults = db_fetch(live_hub.dsn, "SELECT metric, value FROM telemetry.samples WHERE tenant_id = 't-up-odd' "
                                    "AND metric LIKE 'fault:%'")
    assert [(r["metric"], r["value"]) for r in faults] == [("fault:_L_7__", 4.0)]
    assert storage.uplink_status(store)["uplink_unsent_samples"] == 0
    store.close()
