"""Dead letters through the agent on a real Mosquitto: a sample for equipment outside the gateway's register
and a payload far over the size limit are dead letters with reasons, and only a bounded prefix is kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import EdgeAgent, EdgeConfig
from edge.storage import DEAD_LETTER_PREFIX, prepare
from shared.store import LocalStore, PassphraseKeyProvider
from shared.telemetry import MAX_PAYLOAD
from tests.fixtures.mosquitto import Broker
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("edge test", n=2**10)


def test_unknown_equipment_and_an_oversize_payload_are_dead_letters_with_a_reason_and_a_bounded_prefix(
        mqtt_broker: Broker, tmp_path: Path) -> None:
    config = EdgeConfig(tenant_id="t-dl", site_id="north", device_id="gw-dl", store_path=tmp_path / "gw.db",
                        passphrase="edge test", broker_host=mqtt_broker.host, broker_port=mqtt_broker.port,
                        derive_seconds=0.5, equipment=["DT01", "EX02"])
    agent = EdgeAgent(config)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dl-pub", protocol=mqtt.MQTTv5)
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        pub.connect(mqtt_broker.host, mqtt_broker.port)
        pub.loop_start()
        sample = orjson.dumps({"ts": datetime(2026, 11, 24, 6, tzinfo=UTC).isoformat(), "engine_status": "on"})
        huge = b'{"ts": "2026-11-24T06:00:01Z", "engine_status": "on", "pad": "' + b"x" * 5_000_000 + b'"}'
        for topic, payload in [("site/north/equipment/DT01/telemetry", sample),
                               ("site/north/equipment/ZZ99/telemetry", sample),
                               ("site/north/equipment/EX02/telemetry", huge)]:
            pub.publish(topic, payload, qos=1).wait_for_publish(30)
        assert wait_until(lambda: agent.ingest.stats.stored == 1 and agent.ingest.stats.dead_letters == 2, 30)
    finally:
        pub.disconnect()
        pub.loop_stop()
        stop.set()
        runner.join(20)
    with LocalStore.open(config.store_path, KEY) as store:
        prepare(store)
        samples = store.connection.execute("SELECT equipment_id FROM samples").fetchall()
        letters = store.connection.execute(
            "SELECT topic, reason, length(payload), size FROM dead_letters ORDER BY topic").fetchall()
    assert samples == [("DT01",)]
    (big_topic, big_reason, big_kept, big_size), (unknown_topic, unknown_reason, unknown_kept, _) = letters
    assert big_topic.endswith("/EX02/telemetry") and big_size == len(huge) and big_kept == DEAD_LETTER_PREFIX
    assert f"over the {MAX_PAYLOAD}-byte limit" in big_reason
    assert unknown_topic.endswith("/ZZ99/telemetry") and unknown_kept == len(sample)
    assert "unknown equipment 'ZZ99'" in unknown_reason and "register" in unknown_reason
