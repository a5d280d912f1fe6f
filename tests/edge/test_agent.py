"""The edge agent against a real Mosquitto and a real hub: ingest, dead letters, broker restart,
derived usage logs and breakdowns reaching the hub."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import EdgeAgent, EdgeConfig
from edge.ingest import MqttIngest
from edge.simulator import publish
from edge.storage import prepare
from shared.store import LocalStore, PassphraseKeyProvider
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.mosquitto import Broker
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("edge test", n=2**10)


def count(path: Path, sql: str) -> int:
    with LocalStore.open(path, KEY) as store:
        prepare(store)
        return int(store.connection.execute(sql).fetchone()[0])


def test_ingest_stores_samples_dead_letters_the_rest_and_survives_a_broker_restart(
    mqtt_broker: Broker, tmp_path: Path
) -> None:
    path = tmp_path / "edge.db"
    ingest = MqttIngest(lambda: LocalStore.open(path, KEY), mqtt_broker.host, mqtt_broker.port,
                        client_id="edge-ingest-test", topic="site/north/equipment/+/telemetry")
    ingest.start()
    try:
        assert wait_until(lambda: ingest.stats.connected, 30)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
        pub.connect(mqtt_broker.host, mqtt_broker.port)
        pub.loop_start()
        t0 = datetime(2026, 11, 24, 6, tzinfo=UTC)
        infos = []
        for i in range(300):
            body = orjson.dumps({"ts": (t0 + timedelta(seconds=i)).isoformat(), "engine_status": "on",
                                 "working": True, "hour_meter": 100 + i / 3600})
            infos.append(pub.publish("site/north/equipment/DT01/telemetry", body, qos=1))
            if i % 50 == 0:
                infos.append(pub.publish("site/north/equipment/DT01/telemetry", body, qos=1))  # duplicate
        bad = [b"not json", b'{"ts": "2026-11-24T06:00:00", "engine_status": "on"}', b"[1, 2]",
               b'{"ts": "2026-11-24T06:00:00+00:00", "engine_status": "smoking"}']
        for payload in bad:
            infos.append(pub.publish("site/north/equipment/DT02/telemetry", payload, qos=1))
        for info in infos:
            info.wait_for_publish(10)
        assert wait_until(lambda: ingest.stats.stored + ingest.stats.duplicates + ingest.stats.dead_letters >= 310, 30)
        mqtt_broker.restart()  # the agent reconnects and resubscribes by itself
        assert wait_until(lambda: ingest.stats.connected, 30)
        pub.reconnect()
        for i in range(300, 400):
            body = orjson.dumps({"ts": (t0 + timedelta(seconds=i)).isoformat(), "engine_status": "off"})
            pub.publish("site/north/equipment/DT01/telemetry", body, qos=1).wait_for_publish(10)
        assert wait_until(lambda: ingest.stats.stored >= 400, 30)
        pub.disconnect()
        pub.loop_stop()
    finally:
        ingest.stop()
    assert count(path, "SELECT count(*) FROM samples") == 400
    assert count(path, "SELECT count(*) FROM dead_letters") == 4  # a redelivery raises `times`, not the count
    with LocalStore.open(path, KEY) as store:
        reasons = [r[0] for r in store.connection.execute("SELECT reason FROM dead_letters ORDER BY id")]
    assert any("not JSON" in r for r in reasons) and any("time zone" in r for r in reasons)
    assert any("JSON object" in r for r in reasons) and any("engine_status" in r for r in reasons)


def test_the_agent_derives_usage_logs_and_breakdowns_that_reach_the_hub(
    mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path
) -> None:
    token = provision_device(live_hub.dsn, "t-edge", "north", "gw-1", kind="edge")
    config = EdgeConfig(tenant_id="t-edge", site_id="north", device_id="gw-1", store_path=tmp_path / "gw.db",
                        passphrase="edge test", broker_host=mqtt_broker.host, broker_port=mqtt_broker.port,
                        hub_url=live_hub.url, token=token, derive_seconds=0.5)
    agent = EdgeAgent(config)
    agent._open = lambda: LocalStore.open(config.store_path, KEY)  # a cheaper KDF for the test
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
        publish(mqtt_broker.host, mqtt_broker.port, "north", machines=3, minutes=13 * 60, seed=5, start=start,
                noise=True)

        def logs_at_hub() -> int:
            return len(db_fetch(live_hub.dsn, "SELECT 1 FROM sync.records WHERE tenant_id = 't-edge' "
                                              "AND entity = 'equipment.usage_log'"))

        assert wait_until(lambda: logs_at_hub() >= 3, 60)
        assert wait_until(lambda: agent.ingest.stats.stored >= 2000, 60)  # the broker may still be delivering
    finally:
        stop.set()
        runner.join(20)
    rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = 't-edge' "
                                  "AND entity = 'equipment.usage_log'")
    for row in rows:
        data = row["data"]
        total = data["operating_hours"] + data["idle_hours"] + data["standby_hours"] + data["unknown_hours"]
        assert 0 < total <= 12.0001 and data["source"] == "telematics"
    assert len({r["entity_id"] for r in rows}) == len(rows)
    status = orjson.loads(config.status_path.read_bytes())
    assert status["samples"] > 2000 and status["broker_connected"] is not None


def test_a_redelivered_bad_message_is_one_dead_letter_received_twice(tmp_path: Path) -> None:
    from edge.storage import write_batch

    with LocalStore.open(tmp_path / "dl.db", KEY) as store:
        prepare(store)
        bad = ("site/north/equipment/DT02/telemetry", b"not json", "payload is not JSON")
        write_batch(store, [], [bad])
        write_batch(store, [], [bad])  # the broker never got the PUBACK: it delivers again
        write_batch(store, [], [("site/north/equipment/DT03/telemetry", b"not json", "payload is not JSON")])
        rows = store.connection.execute("SELECT topic, times FROM dead_letters ORDER BY id").fetchall()
    assert rows == [("site/north/equipment/DT02/telemetry", 2), ("site/north/equipment/DT03/telemetry", 1)]
