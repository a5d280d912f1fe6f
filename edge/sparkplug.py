"""Sparkplug B → samples: the second adapter beside the JSON topic (docs/edge-telemetry.md, "Sparkplug B").

Topics `spBv1.0/{group}/{NBIRTH|NDATA}/{edge_node}` and `spBv1.0/{group}/{DBIRTH|DDATA}/{edge_node}/{device}`;
the group is the site, the device (or, for node messages, the edge node) is the equipment. Sparkplug
reports by exception: a DDATA carries only the metrics that changed, by name or by the alias its BIRTH
gave them. So the decoder keeps, per equipment, the aliases and the last value of every mapped metric,
and each distinct timestamp in a message (historical metrics may carry several) becomes one sample: the
last known state with that instant's metrics on top, validated by the same model as a JSON sample.
A message that cannot become samples (not a Sparkplug payload, no timestamp, an alias no BIRTH defined,
no engine status known yet, a value the model refuses) raises TelemetryError: a dead letter.

The state lives in memory. After an agent restart a device's DDATA before its next BIRTH is decoded if
it carries everything a sample needs; otherwise it is a dead letter, and `rebirth` (when given) is asked to
request a new BIRTH from the edge node (an NCMD `Node Control/Rebirth`, as a Sparkplug host does), once
a minute per node at most."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError
from pydantic import ValidationError

from edge import sparkplug_pb as pb
from edge.decode import SampleRow, sample_row
from shared.telemetry import SEVERITY_RANK, TelemetryError, TelemetrySample

log = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
TOPIC_FILTERS = [f"{NAMESPACE}/+/NBIRTH/+", f"{NAMESPACE}/+/NDATA/+", f"{NAMESPACE}/+/DBIRTH/+/+",
                 f"{NAMESPACE}/+/DDATA/+/+"]
MAX_PAYLOAD = 256 * 1024

# metric name (lower case, the part after the last '/') → sample field
FIELDS = {
    "engine_status": "engine_status", "engine_on": "engine_status", "engine_running": "engine_status",
    "working": "working",
    "hour_meter": "hour_meter", "engine_hours": "hour_meter", "operating_hours": "hour_meter",
    "idle_hours": "idle_hours",
    "fuel_used_l": "fuel_used_l", "fuel_used": "fuel_used_l",
    "fuel_remaining_pct": "fuel_remaining_pct", "fuel_level": "fuel_remaining_pct",
    "distance_km": "distance_km", "odometer": "distance_km",
    "lat": "lat", "latitude": "lat", "lon": "lon", "longitude": "lon",
    "breakdown": "breakdown",
}
FAULT_FOLDERS = ("fault/", "faults/")  # `Fault/<code>` = severity ("high" or 1–4); null, 0 or "" clears it
_SEVERITY = {int(rank): name for name, rank in SEVERITY_RANK.items()}
_SIGNED = {pb.INT8: 32, pb.INT16: 32, pb.INT32: 32, pb.INT64: 64}  # two's complement in an unsigned field


@dataclass
class _Equipment:
    values: dict[str, Any] = field(default_factory=dict)  # sample field → last value
    faults: dict[str, str] = field(default_factory=dict)  # active fault code → severity


class SparkplugDecoder:
    """topic, payload → sample rows (the ingest's Decoder); other topics go to `fallback`."""

    def __init__(self, fallback: Callable[[str, bytes], list[SampleRow]] | None = None,
                 rebirth: Callable[[str, str], None] | None = None) -> None:
        self._fallback = fallback
        self._rebirth = rebirth
        self._aliases: dict[tuple[str, str], dict[int, str]] = {}  # (group, node) → alias → name
        self._state: dict[tuple[str, str], _Equipment] = {}  # (site, equipment) → last known
        self._asked: dict[tuple[str, str], float] = {}

    def __call__(self, topic: str, payload: bytes) -> list[SampleRow]:
        if not topic.startswith(NAMESPACE + "/"):
            if self._fallback is None:
                raise TelemetryError(f"unknown topic {topic!r}")
            return self._fallback(topic, payload)
        parts = topic.split("/")
        kind = parts[2] if len(parts) > 2 else ""
        shape = {"NBIRTH": 4, "NDATA": 4, "DBIRTH": 5, "DDATA": 5}
        if shape.get(kind) != len(parts) or not all(parts[1:]):
            raise TelemetryError(f"unknown Sparkplug topic {topic!r} (expected spBv1.0/<group>/NDATA/<node> "
                                 "or spBv1.0/<group>/DDATA/<node>/<device>, or their BIRTHs)")
        group, node = parts[1], parts[3]
        equipment = parts[4] if len(parts) == 5 else node
        if len(payload) > MAX_PAYLOAD:
            raise TelemetryError(f"Sparkplug payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
        try:
            message = pb.Payload.FromString(payload)
        except DecodeError as exc:
            raise TelemetryError(f"not a Sparkplug B payload: {exc}") from None
        birth = kind.endswith("BIRTH")
        aliases = self._aliases.setdefault((group, node), {})
        if kind == "NBIRTH":
            aliases.clear()  # a node's birth starts its alias table over (its devices' births follow)
        try:
            return self._samples(group, node, equipment, message, aliases, birth)
        except TelemetryError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # a value of the wrong kind for its field
            raise TelemetryError(f"Sparkplug metric value: {exc}") from None

    def _samples(self, site: str, node: str, equipment: str, message: Any, aliases: dict[int, str],
                 birth: bool) -> list[SampleRow]:
        default_ts = message.timestamp if message.HasField("timestamp") else None
        by_time: dict[int, list[tuple[str, Any]]] = {}
        for metric in message.metrics:
            if metric.HasField("name") and metric.name:
                name = metric.name
                if birth and metric.HasField("alias"):
                    aliases[metric.alias] = name
            elif metric.HasField("alias"):
                if metric.alias not in aliases:
                    self._ask_rebirth(site, node)
                    raise TelemetryError(f"Sparkplug alias {metric.alias} of {node} is unknown (no BIRTH since the "
                                         "agent started)")
                name = aliases[metric.alias]
            else:
                raise TelemetryError("a Sparkplug metric has neither a name nor an alias")
            ts = metric.timestamp if metric.HasField("timestamp") else default_ts
            if ts is None:
                raise TelemetryError(f"Sparkplug metric {name!r} has no timestamp (nor has the payload)")
            by_time.setdefault(ts, []).append((name, _value(metric)))
        # A BIRTH is the whole current state; the message is applied to a copy, kept only if every sample
        # it makes is valid (a refused value must not poison the machine's later samples).
        known = self._state.get((site, equipment))
        state = _Equipment() if birth or known is None else _Equipment(dict(known.values), dict(known.faults))
        rows = []
        for ts in sorted(by_time):
            for name, value in by_time[ts]:
                _apply(state, name, value)
            if "engine_status" not in state.values:
                self._ask_rebirth(site, node)
                raise TelemetryError(f"no engine status known for {equipment}: a Sparkplug DDATA carries only changed "
                                     "metrics, and no BIRTH (or metric engine_status) has been seen since the agent "
                                     "started")
            rows.append(sample_row(site, equipment, _sample(state, ts)))
        self._state[(site, equipment)] = state
        return rows

    def _ask_rebirth(self, group: str, node: str) -> None:
        now = time.monotonic()
        if self._rebirth is None or now - self._asked.get((group, node), -1e9) < 60:
            return
        self._asked[(group, node)] = now
        try:
            self._rebirth(group, node)
        except Exception:  # asking is a courtesy: the message itself is kept as a dead letter either way
            log.exception("could not ask Sparkplug node %s/%s for a rebirth", group, node)


def rebirth_request(group: str, node: str) -> tuple[str, bytes]:
    """The NCMD a Sparkplug host sends to make an edge node publish its BIRTHs again."""
    message = pb.Payload(timestamp=int(time.time() * 1000))
    message.metrics.add(name="Node Control/Rebirth", datatype=pb.BOOLEAN, boolean_value=True)
    return f"{NAMESPACE}/{group}/NCMD/{node}", message.SerializeToString()


def _value(metric: Any) -> Any:
    if metric.HasField("is_null") and metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return _Unsupported()
    value = getattr(metric, which)
    bits = _SIGNED.get(metric.datatype)
    if bits is not None and isinstance(value, int) and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


class _Unsupported:
    """A value kind the model has no place for (dataset, template, extension)."""


def _apply(state: _Equipment, name: str, value: Any) -> None:
    lowered = name.lower()
    for folder in FAULT_FOLDERS:
        if lowered.startswith(folder):
            code = name[len(folder):]
            if value in (None, 0, "", False):
                state.faults.pop(code, None)
            elif isinstance(value, str):
                state.faults[code] = value.lower()
            elif isinstance(value, int | float) and int(value) in _SEVERITY:
                state.faults[code] = _SEVERITY[int(value)]
            else:
                raise TelemetryError(f"fault {code!r}: severity {value!r} is not low/medium/high/critical or 1–4")
            return
    target = FIELDS.get(lowered.rsplit("/", 1)[-1])
    if target is None:
        return  # a metric the sample model has no field for (a machine may publish many): ignored
    if isinstance(value, _Unsupported):
        raise TelemetryError(f"Sparkplug metric {name!r} carries a value of a kind this adapter cannot read")
    if target == "engine_status":
        if isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, str):
            value = value.lower()
        elif isinstance(value, int) and value in (0, 1):
            value = "on" if value else "off"
    state.values[target] = value


def _sample(state: _Equipment, ts_ms: int) -> TelemetrySample:
    fields = {k: v for k, v in state.values.items() if k not in ("lat", "lon")}
    if state.values.get("lat") is not None and state.values.get("lon") is not None:
        fields["location"] = {"lat": state.values["lat"], "lon": state.values["lon"]}
    fields["fault_codes"] = [{"code": code, "severity": severity} for code, severity in state.faults.items()]
    try:
        fields["ts"] = datetime.fromtimestamp(ts_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise TelemetryError(f"Sparkplug timestamp {ts_ms} is out of range") from None
    try:
        return TelemetrySample.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise TelemetryError(f"{where}: {first['msg']}") from None
