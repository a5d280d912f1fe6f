"""Sparkplug B: the decoder on its own (births, aliases, report by exception, historical metrics, signed
integers, faults, every dead-letter reason), then the agent's ingest with it against a real Mosquitto."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge import sparkplug_pb as pb
from edge.ingest import MqttIngest, json_decoder
from edge.sparkplug import TOPIC_FILTERS, SparkplugDecoder, rebirth_request
from edge.storage import prepare
from shared.store import LocalStore, PassphraseKeyProvider
from shared.telemetry import TelemetryError, TelemetrySample
from tests.fixtures.mosquitto import Broker
from tests.waiting import wait_until

KEY = PassphraseKeyProvider("sparkplug test", n=2**10)
T0 = 1_795_500_000_000  # ms since the epoch: 2026-11-24T06:00:00Z


def payload(ts: int | None, *metrics: dict[str, Any]) -> bytes:
    message = pb.Payload(seq=0)
    if ts is not None:
        message.timestamp = ts
    for metric in metrics:
        message.metrics.add(**metric)
    return bytes(message.SerializeToString())


BIRTH = payload(T0, {"name": "Engine/engine_running", "alias": 1, "datatype": pb.BOOLEAN, "boolean_value": True},
                {"name": "Engine/Engine_Hours", "alias": 2, "datatype": pb.DOUBLE, "double_value": 1000.5},
                {"name": "working", "alias": 3, "datatype": pb.BOOLEAN, "boolean_value": False},
                {"name": "Fuel_Level", "alias": 4, "datatype": pb.FLOAT, "float_value": 80.0},
                {"name": "Hardware/Make", "alias": 5, "datatype": pb.STRING, "string_value": "CAT"},
                {"name": "latitude", "alias": 6, "datatype": pb.DOUBLE, "double_value": -23.5},
                {"name": "longitude", "alias": 7, "datatype": pb.DOUBLE, "double_value": 119.7})
DBIRTH = "spBv1.0/north/DBIRTH/gw1/DT01"
DDATA = "spBv1.0/north/DDATA/gw1/DT01"


def sample(row: tuple[Any, ...]) -> TelemetrySample:
    return TelemetrySample.model_validate_json(row[6])


def test_a_birth_then_changes_by_alias_become_whole_samples() -> None:
    decode = SparkplugDecoder()
    [born] = decode(DBIRTH, BIRTH)
    assert born[:6] == ("DT01", "2026-11-24T06:00:00+00:00", "north", 1, 0, 1000.5)
    assert sample(born).location is not None and sample(born).fuel_remaining_pct == 80.0
    # report by exception: only what changed, by alias; two instants (historical) in one message
    rows = decode(DDATA, payload(T0 + 60_000,
                                 {"alias": 3, "boolean_value": True},
                                 {"alias": 2, "double_value": 1000.6, "timestamp": T0 + 30_000, "is_historical": True},
                                 {"name": "Fault/HYD-212", "datatype": pb.STRING, "string_value": "High"}))
    assert [r[1] for r in rows] == ["2026-11-24T06:00:30+00:00", "2026-11-24T06:01:00+00:00"]
    first, second = map(sample, rows)
    assert (first.working, first.hour_meter, first.fault_codes) == (False, 1000.6, [])
    assert (second.working, second.hour_meter, second.engine_status) == (True, 1000.6, "on")
    assert [(f.code, f.severity) for f in second.fault_codes] == [("HYD-212", "high")]
    [cleared] = decode(DDATA, payload(T0 + 120_000, {"name": "Fault/HYD-212", "is_null": True},
                                      {"alias": 1, "boolean_value": False}))
    assert sample(cleared).fault_codes == [] and sample(cleared).engine_status == "off"


def test_node_metrics_signed_integers_and_fault_ranks() -> None:
    decode = SparkplugDecoder()
    [row] = decode("spBv1.0/north/NBIRTH/DZ07", payload(
        T0, {"name": "engine_status", "datatype": pb.STRING, "string_value": "ON"},
        {"name": "distance_km", "datatype": pb.INT32, "int_value": 120},
        {"name": "faults/E-9", "datatype": pb.INT8, "int_value": 4}))
    assert row[0] == "DZ07" and sample(row).fault_codes[0].severity == "critical"
    with pytest.raises(TelemetryError, match="distance_km"):  # Int32 -1 arrives as 2^32 - 1: negative, refused
        decode("spBv1.0/north/NDATA/DZ07", payload(T0 + 1000, {"name": "distance_km", "datatype": pb.INT32,
                                                                "int_value": 2**32 - 1}))
    [after] = decode("spBv1.0/north/NDATA/DZ07", payload(T0 + 2000, {"name": "distance_km", "int_value": 121}))
    assert sample(after).distance_km == 121  # the refused message left no trace in the machine's state


@pytest.mark.parametrize(("topic", "body", "reason"), [
    (DDATA, b'{"ts": "2026-11-24T06:00:00Z", "engine_status": "on"}', "not a Sparkplug B payload"),
    (DDATA, payload(None, {"name": "engine_status", "string_value": "on"}), "no timestamp"),
    (DDATA, payload(T0, {"alias": 99, "double_value": 1.0}), "alias 99"),
    (DDATA, payload(T0, {"name": "hour_meter", "double_value": 5.0}), "no engine status known"),
    (DDATA, payload(T0, {"name": "engine_status", "string_value": "smoking"}), "engine_status"),
    (DDATA, payload(T0, {"name": "engine_status", "string_value": "on"}, {"double_value": 1.0}), "neither a name"),
    (DDATA, payload(T0, {"name": "engine_status", "string_value": "on"},
                    {"name": "Fault/X", "double_value": 9.0}), "severity"),
    ("spBv1.0/north/DDATA/gw1", payload(T0), "unknown Sparkplug topic"),
    ("spBv1.0/north/DCMD/gw1/DT01", payload(T0), "unknown Sparkplug topic"),
])
def test_what_cannot_become_a_sample_is_a_dead_letter_with_its_reason(topic: str, body: bytes, reason: str) -> None:
    asked: list[tuple[str, str]] = []
    decode = SparkplugDecoder(rebirth=lambda group, node: asked.append((group, node)))
    with pytest.raises(TelemetryError, match=reason):
        decode(topic, body)
    if reason in ("alias 99", "no engine status known"):
        assert asked == [("north", "gw1")]  # a host asks the node to publish its births again


def test_the_agents_ingest_takes_sparkplug_and_json_from_a_real_mosquitto(mqtt_broker: Broker, tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    holder: list[MqttIngest] = []
    decoder = SparkplugDecoder(json_decoder, rebirth=lambda g, n: holder[0].publish(*rebirth_request(g, n)))
    ingest = MqttIngest(lambda: LocalStore.open(path, KEY), mqtt_broker.host, mqtt_broker.port,
                        client_id="edge-sparkplug-test", topic=["site/north/equipment/+/telemetry", *TOPIC_FILTERS],
                        decoder=decoder)
    holder.append(ingest)
    rebirths: list[str] = []
    asked = threading.Event()
    node = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-other", protocol=mqtt.MQTTv5)

    def on_command(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        metric = pb.Payload.FromString(msg.payload).metrics[0]
        rebirths.append(f"{msg.topic} {metric.name}={metric.boolean_value}")
        asked.set()

    node.on_message = on_command
    node.connect(mqtt_broker.host, mqtt_broker.port)
    node.subscribe("spBv1.0/south/NCMD/gw2", qos=0)
    node.loop_start()
    ingest.start()
    try:
        assert wait_until(lambda: ingest.stats.connected, 30)
        messages = [(DBIRTH, BIRTH),
                    (DDATA, payload(T0 + 1000, {"alias": 3, "boolean_value": True})),
                    (DDATA, payload(T0 + 1000, {"alias": 3, "boolean_value": True})),  # a duplicate
                    (DDATA, b"\xff\xff garbage"),
                    ("spBv1.0/south/DDATA/gw2/EX01", payload(T0, {"alias": 4, "float_value": 1.0})),
                    ("site/north/equipment/DT02/telemetry", b'{"ts": "2026-11-24T06:00:00Z", "engine_status": "on"}')]
        infos = [node.publish(topic, body, qos=1) for topic, body in messages]
        for info in infos:
            info.wait_for_publish(10)
        assert wait_until(lambda: ingest.stats.received >= len(messages) and ingest.stats.batches > 0
                          and ingest.stats.stored + ingest.stats.duplicates + ingest.stats.dead_letters >= 5, 30)
        assert asked.wait(10), "no rebirth request reached the node"
    finally:
        ingest.stop()
        node.disconnect()
        node.loop_stop()
    assert rebirths == ["spBv1.0/south/NCMD/gw2 Node Control/Rebirth=True"]
    with LocalStore.open(path, KEY) as store:
        prepare(store)
        rows = store.connection.execute("SELECT equipment_id, ts, working FROM samples ORDER BY 1, 2").fetchall()
        dead = [r[0] for r in store.connection.execute("SELECT reason FROM dead_letters ORDER BY id")]
    assert rows == [("DT01", "2026-11-24T06:00:00+00:00", 0), ("DT01", "2026-11-24T06:00:01+00:00", 1),
                    ("DT02", "2026-11-24T06:00:00+00:00", None)]
    assert len(dead) == 2 and "not a Sparkplug B payload" in dead[0] and "alias 4" in dead[1]
