"""Equipment telemetry on the site broker (the wire contract between machines, the edge and the hub).

Topic `site/{site}/equipment/{equipment}/telemetry`, JSON payload, fields modelled on ISO 15143-3
(AEMP 2.0): cumulative operating hours (hour meter), idle hours, engine status, fuel, distance, location,
fault codes with severity. Documented with examples in docs/edge-telemetry.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import PitlineError

TOPIC_FILTER = "site/+/equipment/+/telemetry"
MAX_PAYLOAD = 16 * 1024


class TelemetryError(PitlineError):
    """A message that cannot be used; `reason` goes to the dead-letter table."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FaultCode(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: str = Field(min_length=1, max_length=64)
    severity: Literal["low", "medium", "high", "critical"] = "low"


class Location(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class TelemetrySample(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    ts: datetime
    engine_status: Literal["on", "off"]
    working: bool | None = None  # implement/payload active; engine on and not working = idling
    hour_meter: float | None = Field(default=None, ge=0, description="cumulative operating hours")
    idle_hours: float | None = Field(default=None, ge=0, description="cumulative idle hours")
    fuel_used_l: float | None = Field(default=None, ge=0)
    fuel_remaining_pct: float | None = Field(default=None, ge=0, le=100)
    distance_km: float | None = Field(default=None, ge=0)
    location: Location | None = None
    fault_codes: list[FaultCode] = Field(default_factory=list, max_length=50)
    breakdown: bool = False  # operator flagged a breakdown at engine stop

    @field_validator("ts")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("ts must carry a time zone")
        return v.astimezone(UTC)


def parse_topic(topic: str) -> tuple[str, str]:
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "site" or parts[2] != "equipment" or parts[4] != "telemetry" \
            or not parts[1] or not parts[3]:
        raise TelemetryError(f"unknown topic {topic!r} (expected site/<site>/equipment/<equipment>/telemetry)")
    return parts[1], parts[3]


def parse_message(topic: str, payload: bytes) -> tuple[str, str, TelemetrySample]:
    """(site, equipment, sample) from one MQTT message, or TelemetryError with the reason."""
    site, equipment = parse_topic(topic)
    if len(payload) > MAX_PAYLOAD:
        raise TelemetryError(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise TelemetryError(f"payload is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise TelemetryError("payload must be a JSON object")
    try:
        return site, equipment, TelemetrySample.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise TelemetryError(f"{where}: {first['msg']}") from None
