"""Messages → rows of the samples table. The common JSON sample takes a fast path; anything else goes
through shared.telemetry's full validation, which gives the reason for a dead letter.

The fast path exists for throughput: pydantic's validation of one sample costs ~14 µs, about a quarter
of the agent's whole per-message budget at 5,000+ messages/s on one core (paho's own reading is most of
the rest). It accepts only payloads whose every field it can check exactly as the model would (an RFC 3339
time with its zone, "on"/"off", booleans, non-negative numbers, no faults and no location) and hands
everything else, unchanged, to the model; tests/edge/test_decode.py holds the two paths to the same answers."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.telemetry import MAX_PAYLOAD, TelemetryError, TelemetrySample, parse_message, parse_topic, sample_points

# (equipment_id, ts in UTC ISO 8601, site_id, engine_on, working, hour_meter, body JSON)
SampleRow = tuple[str, str, str, int, int | None, float | None, str]

_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_NUMBERS = {"hour_meter": None, "idle_hours": None, "fuel_used_l": None, "distance_km": None,
            "fuel_remaining_pct": 100.0}  # field → upper bound (all ≥ 0)


def sample_row(site: str, equipment: str, sample: TelemetrySample) -> SampleRow:
    return (equipment, sample.ts.isoformat(), site, int(sample.engine_status == "on"),
            None if sample.working is None else int(sample.working), sample.hour_meter, sample.model_dump_json())


def json_row(topic: str, payload: bytes) -> SampleRow:
    """The row for one JSON telemetry message, or TelemetryError with the reason."""
    row = _fast(topic, payload)
    if row is not None:
        return row
    site, equipment, sample = parse_message(topic, payload)
    return sample_row(site, equipment, sample)


def _fast(topic: str, payload: bytes) -> SampleRow | None:
    """The row if every field passes the exact checks below; None means: ask the model."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        site, equipment = parse_topic(topic)
        raw = orjson.loads(payload)
    except (TelemetryError, orjson.JSONDecodeError):
        return None
    if type(raw) is not dict:
        return None
    ts, status = raw.get("ts"), raw.get("engine_status")
    if type(ts) is not str or type(status) is not str or status not in ("on", "off") or not _TS.fullmatch(ts):
        return None
    try:
        when = datetime.fromisoformat(ts).astimezone(UTC)
    except (ValueError, OverflowError):  # 25:00:00, an offset out of range, year 9999 west of UTC: the model words it
        return None
    body: dict[str, object] = {"ts": when, "engine_status": status}
    working, breakdown = raw.get("working"), raw.get("breakdown", False)
    if (working is not None and type(working) is not bool) or type(breakdown) is not bool:
        return None
    body["working"], body["breakdown"] = working, breakdown
    for name, upper in _NUMBERS.items():
        value = raw.get(name)
        if value is None:
            body[name] = None
            continue
        kind = type(value)
        if (kind is not float and kind is not int) or value < 0 or (upper is not None and value > upper) \
                or (kind is float and not math.isfinite(value)):
            return None
        body[name] = float(value)
    if raw.get("location") is not None or raw.get("fault_codes", []) != []:
        return None
    body["location"], body["fault_codes"] = None, []
    hour_meter = body["hour_meter"]
    return (equipment, when.isoformat(), site, int(status == "on"), None if working is None else int(working),
            hour_meter if isinstance(hour_meter, float) else None, orjson.dumps(body).decode())


# --- Stored samples → points for the uplink ---------------------------------------------------------------
# The body was validated when it was stored; reading it back through the model again cost the uplink
# ~15 µs a sample (a third of making a batch). A body with exactly the model's fields is read directly;
# anything else goes through the model (tests/edge/test_decode.py holds both to sample_points' answer).
_FIELDS = frozenset(TelemetrySample.model_fields)
_COUNTERS = ("hour_meter", "idle_hours", "fuel_used_l", "fuel_remaining_pct", "distance_km")


def stored_points(equipment_id: str, ts: str, body: str) -> list[dict[str, object]]:
    """The points of one stored sample (`ts`: the row's UTC key) as shared.telemetry.sample_points makes
    them; pydantic.ValidationError if the body is not a sample this version can read."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    if type(raw) is dict and raw.keys() <= _FIELDS and raw.get("engine_status") in ("on", "off") and "ts" in raw \
            and raw.get("location") is None and not raw.get("breakdown") and not raw.get("fault_codes"):
        try:
            return _plain_points(equipment_id, ts, raw)
        except (TypeError, ValueError):
            pass  # not as stored by this version: the model says what is wrong
    return sample_points(equipment_id, TelemetrySample.model_validate_json(body))


def _plain_points(equipment_id: str, ts: str, raw: dict[str, Any]) -> list[dict[str, object]]:
    """No location, breakdown or faults (those, rare, are left to the model: fault names are sanitised there)."""
    out: list[dict[str, object]] = [{"equipment_id": equipment_id, "metric": "engine_on", "ts": ts,
                                     "value": 1.0 if raw["engine_status"] == "on" else 0.0}]
    working = raw.get("working")
    if working is not None:
        if type(working) is not bool:
            raise TypeError("working")
        out.append({"equipment_id": equipment_id, "metric": "working", "ts": ts, "value": float(working)})
    for name in _COUNTERS:
        value = raw.get(name)
        if value is not None:
            if type(value) is not float and type(value) is not int:
                raise TypeError(name)
            out.append({"equipment_id": equipment_id, "metric": name, "ts": ts, "value": float(value)})
    return out
