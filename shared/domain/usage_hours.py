"""Engine hours per machine from `equipment.usage_log` records, for rental invoices and units-of-production
depreciation (one rule, so what a customer is billed and what the machine is depreciated by agree).

- A shift's engine hours are its operating + idle hours: the engine ran (the hour meter counts both); standby,
  repair and unknown time are not engine hours (D41).
- The shift date decides the day a shift belongs to: a night shift that starts on 31 October is October's,
  even though most of it runs on 1 November (the same rule as payroll and the KPIs).
- One shift may be logged twice, by hand and by the gateway (`<equipment>:<date>:<shift>:telematics`). The
  measured log wins over the typed one; two logs of the same source keep the later id. Never both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain.finance import ZERO


@dataclass(frozen=True)
class UsageShift:
    log_id: str
    equipment_id: str
    shift_date: date
    shift: str
    engine_hours: Decimal
    source: str = "manual"


def _hours(raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return ZERO
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        return ZERO
    return value if value.is_finite() and value > 0 else ZERO


def usage_from_payload(log_id: str, payload: Mapping[str, object]) -> UsageShift | None:
    """A usage log as engine hours (None for a record without machine or date: it cannot be placed)."""
    equipment = str(payload.get("equipment_id") or "")
    try:
        day = date.fromisoformat(str(payload.get("shift_date") or ""))
    except ValueError:
        return None
    if not equipment:
        return None
    hours = _hours(payload.get("operating_hours")) + _hours(payload.get("idle_hours"))
    return UsageShift(log_id, equipment, day, str(payload.get("shift") or ""), hours,
                      str(payload.get("source") or "manual"))


def deduplicate(shifts: Iterable[UsageShift]) -> list[UsageShift]:
    """One log per (machine, shift date, shift): telematics over manual, then the later id."""
    best: dict[tuple[str, date, str], UsageShift] = {}
    for s in shifts:
        key = (s.equipment_id, s.shift_date, s.shift)
        held = best.get(key)
        if held is None or (s.source == "telematics", s.log_id) > (held.source == "telematics", held.log_id):
            best[key] = s
    return sorted(best.values(), key=lambda s: (s.equipment_id, s.shift_date, s.shift))


def engine_hours(shifts: Iterable[UsageShift], equipment_id: str, first: date | None, last: date) -> Decimal:
    """Engine hours of one machine over shift dates first..last inclusive (from the beginning when first is None).
    Expects deduplicated shifts."""
    return sum((s.engine_hours for s in shifts if s.equipment_id == equipment_id and s.shift_date <= last
                and (first is None or s.shift_date >= first)), ZERO)
