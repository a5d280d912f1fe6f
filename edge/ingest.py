"""MQTT ingest: QoS 1, a persistent session, and an acknowledgement only after the store committed.

The network thread never does I/O on the store and never raises: it parses, and hands the message to a
bounded queue (backpressure: when the writer falls behind, the network thread waits, the broker keeps
the messages). A writer thread commits batches and only then sends each PUBACK, so a message the broker
considers delivered is always on disk; a crash before the commit means the broker delivers it again, and
the sample key (equipment, ts) makes that harmless."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes

from edge.storage import prepare, write_batch
from shared.store import LocalStore
from shared.telemetry import TOPIC_FILTER, TelemetryError, TelemetrySample, parse_message

log = logging.getLogger(__name__)


@dataclass
class _Received:
    mid: int
    qos: int
    topic: str
    payload: bytes
    parsed: tuple[str, str, TelemetrySample] | None
    reason: str | None


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    connected: bool = False


class MqttIngest:
    def __init__(self, store_opener: Callable[[], LocalStore], host: str, port: int, *, client_id: str,
                 topic: str = TOPIC_FILTER, batch: int = 500, queue_size: int = 20_000) -> None:
        self._open_store = store_opener
        self.host, self.port, self.topic, self.batch = host, port, topic, batch
        self.stats = IngestStats()
        self._queue: queue.Queue[_Received] = queue.Queue(queue_size)
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="edge-writer", daemon=True)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                  manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)

    def start(self) -> None:
        self._writer.start()
        props = mqtt.Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 30 * 24 * 3600  # a gateway may be cut off for weeks
        self.client.connect_async(self.host, self.port, clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._stop.set()
        self._writer.join(10)

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self.stats.connected = not getattr(reason, "is_failure", False)
        client.subscribe(self.topic, qos=1)  # again on every reconnect
        log.info("connected to the broker %s:%s (%s)", self.host, self.port, reason)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self.stats.connected = False
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self.stats.received += 1
            try:
                parsed, reason = parse_message(msg.topic, msg.payload), None
            except TelemetryError as exc:
                parsed, reason = None, exc.reason
            self._queue.put(_Received(msg.mid, msg.qos, msg.topic, msg.payload, parsed, reason))
        except Exception:  # the network thread must survive anything a payload does
            log.exception("could not take a message on %s", getattr(msg, "topic", "?"))

    def _write_loop(self) -> None:
        store = self._open_store()
        prepare(store)
        try:
            while not (self._stop.is_set() and self._queue.empty()):
                try:
                    first = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                items = [first]
                while len(items) < self.batch:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                good = [i.parsed for i in items if i.parsed is not None]
                dead = [(i.topic, i.payload, i.reason or "unknown") for i in items if i.parsed is None]
                new = write_batch(store, good, dead)
                self.stats.stored += new
                self.stats.duplicates += len(good) - new
                self.stats.dead_letters += len(dead)
                for i in items:  # only now is the message safe: acknowledge it
                    if i.qos > 0:
                        self.client.ack(i.mid, i.qos)
        finally:
            store.close()
