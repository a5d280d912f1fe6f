"""The project's broker config on a real Mosquitto: QoS 1 messages for an offline persistent session
are kept, past Mosquitto's default limit of 1000, and survive a broker restart."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.fixtures.mosquitto import Broker


def _client(broker: Broker, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port, clean_start=False,
                   properties=_session_properties())
    return client


def _session_properties() -> mqtt.Properties:
    from paho.mqtt.packettypes import PacketTypes

    props = mqtt.Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    return props


def test_offline_session_keeps_more_than_1000_qos1_messages_across_a_restart(mqtt_broker: Broker) -> None:
    agent = _client(mqtt_broker, "edge-agent-test")
    agent.loop_start()
    subscribed = threading.Event()
    agent.on_subscribe = lambda *a: subscribed.set()
    agent.subscribe("site/s1/equipment/+/telemetry", qos=1)
    assert subscribed.wait(5)
    agent.disconnect()
    agent.loop_stop()

    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fleet", protocol=mqtt.MQTTv5)
    publisher.connect(mqtt_broker.host, mqtt_broker.port)
    publisher.loop_start()
    infos = [publisher.publish("site/s1/equipment/DT01/telemetry", f"{i}", qos=1) for i in range(1500)]
    for info in infos:
        info.wait_for_publish(10)
    publisher.disconnect()
    publisher.loop_stop()

    mqtt_broker.restart()

    received: list[int] = []
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        received.append(int(msg.payload))
        if len(set(received)) >= 1500:
            done.set()

    agent = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-agent-test", protocol=mqtt.MQTTv5)
    agent.on_message = on_message
    agent.connect(mqtt_broker.host, mqtt_broker.port, clean_start=False, properties=_session_properties())
    agent.loop_start()
    try:
        assert done.wait(30), f"received {len(set(received))} of 1500"
    finally:
        agent.disconnect()
        agent.loop_stop()
    assert sorted(set(received)) == list(range(1500))
