"""Machine hours from telemetry: operating, idle, off and unknown time per equipment per shift.

Rules (issue 4):
- Between two consecutive samples the machine is in the state the earlier sample reported: engine on and
  working → operating; engine on, not working → idle; engine off → off.
- A gap longer than `max_gap` between samples is *unknown* time: never guessed.
- Duplicated samples (same timestamp) count once; samples arriving out of order are sorted first.
- An hour meter never runs backwards: a decrease (a reset or a replaced meter) is recorded as a
  correction and contributes no hours; meter hours are the sum of the non-negative steps.
- Intervals are split at shift boundaries in the site's time zone; a shift lasts its real time (11, 12 or 13 h
  across a daylight-saving change)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from shared.domain.shifts import Shift, ShiftPattern, shift_at, split_by_shift

STATES = ("operating", "idle", "off", "unknown")
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class EngineSample:
    ts: datetime  # aware
    engine_on: bool
    working: bool = True  # an implement/payload signal; False with the engine on means idling
    hour_meter: float | None = None


@dataclass(frozen=True)
class MeterCorrection:
    ts: datetime
    before: float
    after: float


@dataclass
class ShiftHours:
    shift: Shift
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    meter_hours: float = 0.0
    meter_start: float | None = None
    meter_end: float | None = None

    def hours(self, state: str) -> float:
        return round(self.seconds[state] / 3600, 4)


@dataclass
class HoursResult:
    shifts: dict[str, ShiftHours]
    corrections: list[MeterCorrection]


def _state(sample: EngineSample) -> str:
    if not sample.engine_on:
        return "off"
    return "operating" if sample.working else "idle"


def machine_hours(samples: Iterable[EngineSample], pattern: ShiftPattern,
                  max_gap: timedelta = timedelta(minutes=5)) -> HoursResult:
    """Hours per shift for one machine from its engine samples (any order, duplicates allowed)."""
    by_ts: dict[datetime, EngineSample] = {}
    for s in samples:
        by_ts.setdefault(s.ts, s)
    ordered = [by_ts[t] for t in sorted(by_ts)]
    shifts: dict[str, ShiftHours] = {}
    corrections: list[MeterCorrection] = []

    def bucket(shift: Shift) -> ShiftHours:
        return shifts.setdefault(shift.key, ShiftHours(shift))

    for current, following in pairwise(ordered):
        state = _state(current) if following.ts - current.ts <= max_gap else "unknown"
        for shift, start, end in split_by_shift(pattern, current.ts, following.ts):
            # By timestamps: two datetimes in the same zone subtract by wall clock (12 h across a 13 h night).
            bucket(shift).seconds[state] += end.timestamp() - start.timestamp()
        before, after = current.hour_meter, following.hour_meter
        if before is not None and after is not None:
            target = bucket(shift_at(pattern, following.ts - _TICK))  # the step ends in this shift
            if after < before:
                corrections.append(MeterCorrection(following.ts, before, after))
            else:
                target.meter_hours += after - before
    for s in ordered:
        if s.hour_meter is None:
            continue
        b = bucket(shift_at(pattern, s.ts))
        b.meter_start = s.hour_meter if b.meter_start is None else b.meter_start
        b.meter_end = s.hour_meter
    return HoursResult(shifts, corrections)


def usage_log_payload(equipment_id: str, hours: ShiftHours) -> dict[str, object]:
    """The `equipment.usage_log` payload the edge sends for one shift (keyed so a recompute replaces)."""
    payload: dict[str, object] = {
        "equipment_id": equipment_id, "shift_date": hours.shift.shift_date.isoformat(), "shift": hours.shift.name,
        "operating_hours": hours.hours("operating"), "idle_hours": hours.hours("idle"),
        "standby_hours": hours.hours("off"), "unknown_hours": hours.hours("unknown"), "source": "telematics",
    }
    if hours.meter_start is not None and hours.meter_end is not None:
        payload["hour_meter_start"] = hours.meter_start
        payload["hour_meter_end"] = hours.meter_end
    return payload


def usage_log_id(equipment_id: str, shift: Shift) -> str:
    return f"{equipment_id}:{shift.shift_date.isoformat()}:{shift.name}:telematics"
