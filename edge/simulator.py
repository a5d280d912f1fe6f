"""A simulated fleet for the demo and the tests (never used in production paths): trucks, excavators and
dozers on duty cycles across shifts, with breakdowns, a meter replacement, duplicates, late messages and
some malformed payloads, published QoS 1 to a real broker."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

DUTY = {"DT": (0.75, 0.85), "EX": (0.8, 0.7), "DZ": (0.6, 0.75)}  # (engine-on share, working share when on)


@dataclass
class Machine:
    equipment_id: str
    meter: float
    kind: str = "DT"
    engine_on: bool = True
    down_until: datetime | None = None


def fleet(size: int, rnd: random.Random, prefix: str = "") -> list[Machine]:
    """`size` machines; equipment ids are unique in a tenant, so each site's fleet gets its own `prefix`."""
    kinds = list(DUTY)
    return [Machine(f"{prefix}{kinds[i % 3]}{i + 1:03}", round(rnd.uniform(1000, 20000), 1), kinds[i % 3])
            for i in range(size)]


def samples(machines: list[Machine], start: datetime, minutes: int, rnd: random.Random,
            step: timedelta = timedelta(minutes=1)) -> list[tuple[str, dict[str, object]]]:
    """Samples for every machine, every `step`, over `minutes` of simulated time."""
    out: list[tuple[str, dict[str, object]]] = []
    t = start
    for _ in range(int(timedelta(minutes=minutes) / step)):
        for m in machines:
            on_share, work_share = DUTY[m.kind]
            faults: list[dict[str, str]] = []
            if m.down_until and t < m.down_until:
                m.engine_on = False
            elif rnd.random() < 0.0005:
                m.down_until = t + timedelta(minutes=rnd.randint(30, 180))
                m.engine_on = False
                faults = [{"code": "HYD-212", "severity": "high"}]
            else:
                m.down_until = None
                m.engine_on = rnd.random() < on_share
            working = m.engine_on and rnd.random() < work_share
            if m.engine_on:
                m.meter = round(m.meter + step.total_seconds() / 3600, 4)
            out.append((m.equipment_id, {"ts": t.isoformat(), "engine_status": "on" if m.engine_on else "off",
                                         "working": working, "hour_meter": m.meter, "fault_codes": faults,
                                         "fuel_remaining_pct": round(rnd.uniform(10, 100), 1)}))
        t += step
    return out


def publish(host: str, port: int, site: str, machines: int = 10, minutes: int = 60, rate: float = 0.0,
            seed: int = 1, start: datetime | None = None, noise: bool = True) -> int:
    """Publish a simulated stretch of time; `rate` messages/s (0 = as fast as the broker takes them)."""
    rnd = random.Random(seed)
    start = start or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    data = samples(fleet(machines, rnd), start, minutes, rnd)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-sim-{seed}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    sent = 0
    infos = []
    late: list[tuple[str, bytes]] = []
    try:
        for equipment_id, payload in data:
            topic = f"site/{site}/equipment/{equipment_id}/telemetry"
            body = orjson.dumps(payload)
            if noise and rnd.random() < 0.01:
                late.append((topic, body))  # delivered out of order, at the end
                continue
            infos.append(client.publish(topic, body, qos=1))
            if noise and rnd.random() < 0.01:
                infos.append(client.publish(topic, body, qos=1))  # a duplicate
            if noise and rnd.random() < 0.002:
                infos.append(client.publish(topic, b'{"ts": "yesterday", "engine_status": "maybe"}', qos=1))
            sent += 1
            if rate:
                time.sleep(1 / rate)
        for topic, body in late:
            infos.append(client.publish(topic, body, qos=1))
            sent += 1
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent
