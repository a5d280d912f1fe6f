"""Edge ingest: sustained QoS 1 messages/s into the encrypted store, vs a bare paho subscriber that only
counts, on the same Mosquitto with the same publisher, in the same run."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.report import Row
from edge.ingest import MqttIngest
from pitline.harness import Broker
from shared.store import LocalStore, PassphraseKeyProvider


def _publish(broker: Broker, site: str, n: int) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{site}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    t0 = datetime(2026, 11, 24, tzinfo=UTC)
    started = time.perf_counter()
    infos = []
    for i in range(n):
        body = orjson.dumps({"ts": (t0 + timedelta(seconds=i // 20)).isoformat(), "engine_status": "on",
                             "working": True, "hour_meter": 1000 + i / 72000})
        infos.append(client.publish(f"site/{site}/equipment/EQ{i % 20:02}/telemetry", body, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return started


def _bare(broker: Broker, n: int) -> float:
    got = 0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.subscribe("site/bare/equipment/+/telemetry", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    started = _publish(broker, "bare", n)
    done.wait(300)
    elapsed = time.perf_counter() - started
    sub.disconnect()
    sub.loop_stop()
    return n / elapsed


def _ours(broker: Broker, tmp: Path, n: int) -> float:
    key = PassphraseKeyProvider("bench", n=2**14)
    path = tmp / "edge-bench.db"
    LocalStore.open(path, key).close()
    ingest = MqttIngest(lambda: LocalStore.open(path, key), broker.host, broker.port, client_id="bench-edge",
                        topic="site/ours/equipment/+/telemetry")
    ingest.start()
    while not ingest.stats.connected:
        time.sleep(0.05)
    time.sleep(0.5)
    started = _publish(broker, "ours", n)
    while ingest.stats.stored + ingest.stats.duplicates < n:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    ingest.stop()
    return n / elapsed


def run(tmp: Path, n: int) -> Row:
    folder = tmp / "mqtt"
    folder.mkdir(exist_ok=True)
    broker = Broker(folder)
    broker.start()
    try:
        peer = _bare(broker, n)
        mine = _ours(broker, tmp, n)
    finally:
        broker.stop()
    return Row("edge: QoS1 ingest into encrypted store", mine, "msg/s", "bare paho subscriber", peer,
               "≥ 5,000/s and ≥ 0.8× bare", mine >= 5_000 and mine >= 0.8 * peer,
               note=f"{n:,} messages from 20 machines through a private Mosquitto with the gateway config; "
                    "ours acknowledges each message only after its batch committed")
