"""The ingest loop against a real Mosquitto: a decoder that fails unexpectedly costs a dead letter, not the
message and not the loop; batches commit by size and by age."""

from __future__ import annotations

from pathlib import Path

import apsw
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.decode import SampleRow
from edge.ingest import MqttIngest, json_decoder
from edge.storage import prepare
from shared.store import LocalStore, PassphraseKeyProvider
from tests.fixtures.mosquitto import Broker
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("ingest loop test", n=2**10)


def buggy(topic: str, payload: bytes) -> list[SampleRow]:
    if payload == b"boom":
        raise RuntimeError("a bug")
    return json_decoder(topic, payload)


def test_a_decoder_bug_is_a_dead_letter_and_batches_fill_by_size_and_by_age(mqtt_broker: Broker,
                                                                            tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    ingest = MqttIngest(lambda: LocalStore.open(path, KEY), mqtt_broker.host, mqtt_broker.port,
                        client_id="edge-loop-test", topic="site/loop/equipment/+/telemetry", decoder=buggy,
                        batch=100, flush_seconds=0.2)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="loop-pub", protocol=mqtt.MQTTv5)
    pub.connect(mqtt_broker.host, mqtt_broker.port)
    pub.loop_start()
    ingest.start()
    try:
        assert wait_until(lambda: ingest.stats.connected, 30)
        infos = [pub.publish("site/loop/equipment/DT01/telemetry", b"boom", qos=1)]
        infos += [pub.publish("site/loop/equipment/DT01/telemetry",
                              f'{{"ts": "2026-11-24T06:{i // 60:02}:{i % 60:02}Z", "engine_status": "on"}}'.encode(),
                              qos=1) for i in range(250)]
        for info in infos:
            info.wait_for_publish(10)
        assert wait_until(lambda: ingest.stats.stored == 250 and ingest.stats.dead_letters == 1, 30)
        assert ingest.stats.batches >= 3  # 251 messages in batches of at most 100
    finally:
        ingest.stop()
        pub.disconnect()
        pub.loop_stop()
    with LocalStore.open(path, KEY) as store:
        prepare(store)
        [(reason, times)] = store.connection.execute("SELECT reason, times FROM dead_letters").fetchall()
    assert reason == "internal error: RuntimeError: a bug" and times == 1


def test_a_batch_whose_commit_fails_is_not_acknowledged_and_comes_back(mqtt_broker: Broker, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.ingest

    calls = []
    real = edge.ingest.write_rows

    def flaky(store: LocalStore, rows: list[SampleRow], dead: list[tuple[str, bytes, str]]) -> int:
        calls.append(len(rows))
        if len(calls) == 1:
            raise apsw.IOError("disk I/O error")  # before COMMIT: nothing stored, nothing acknowledged
        return real(store, rows, dead)

    monkeypatch.setattr(edge.ingest, "write_rows", flaky)
    path = tmp_path / "edge.db"
    ingest = MqttIngest(lambda: LocalStore.open(path, KEY), mqtt_broker.host, mqtt_broker.port,
                        client_id="edge-loop-fail", topic="site/fail/equipment/+/telemetry", flush_seconds=0.5)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fail-pub", protocol=mqtt.MQTTv5)
    pub.connect(mqtt_broker.host, mqtt_broker.port)
    pub.loop_start()
    ingest.start()
    try:
        assert wait_until(lambda: ingest.stats.connected, 30)
        infos = [pub.publish("site/fail/equipment/DT01/telemetry",
                             f'{{"ts": "2026-11-24T07:00:{i:02}Z", "engine_status": "on"}}'.encode(), qos=1)
                 for i in range(50)]
        for info in infos:
            info.wait_for_publish(10)
        assert wait_until(lambda: ingest.stats.stored == 50, 30), ingest.stats
    finally:
        ingest.stop()
        pub.disconnect()
        pub.loop_stop()
    assert calls[0] > 0 and len(calls) >= 2  # the failed batch was redelivered by the broker and stored later
    with LocalStore.open(path, KEY) as store:
        prepare(store)
        assert store.connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 50
