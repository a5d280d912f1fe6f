"""A site's people settings and public holidays, as synced tenant records (issue 14): the time zone and the
day/night shift starts every roster, attendance and reconciliation screen reads, the hours-reconciliation
variance threshold, and the site's public holidays (payroll allowances read them).

- `hr.site_settings`: one record per site, its id is the site id. field_merge: HR fixing the threshold and an
  administrator fixing the zone offline both keep their edit.
- `hr.public_holiday`: one record per site and date, id `<site>:<date>` (two offices typing the same holiday
  make one record, not two). field_merge.

`read_settings` is tolerant on purpose: a stored value that no longer parses (a zone removed from the tz
database, a record written by an older version) falls back to the default for that field and is reported,
so a screen still opens and says what to fix instead of crashing every desktop of the site.
Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.conflicts import Strategy
from shared.domain.shifts import ShiftPattern
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

SITE_SETTINGS = "hr.site_settings"
PUBLIC_HOLIDAY = "hr.public_holiday"
DEFAULT_THRESHOLD = Decimal("0.5")  # hours; what the reconciliation screen used before sites had a setting
MAX_THRESHOLD = 24


@dataclass(frozen=True)
class SiteSettings:
    pattern: ShiftPattern = field(default_factory=ShiftPattern)
    threshold: Decimal = DEFAULT_THRESHOLD
    problems: tuple[str, ...] = field(default=(), compare=False)  # stored values that were unreadable

    @property
    def time_zone(self) -> str:
        return self.pattern.time_zone


def parse_zone(text: Any) -> str:
    """An IANA zone name as stored, or ValidationError on field `time_zone`."""
    name = str(text or "").strip()
    if not name:
        raise ValidationError("time zone is required", {"time_zone": "is required (e.g. America/Santiago)"})
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}",
                              {"time_zone": f"{name} is not an IANA time zone (e.g. Australia/Perth)"}) from None
    return name


def parse_start(text: Any, name: str) -> time:
    """A shift start typed as HH:MM (24 h), or ValidationError on field `name`."""
    raw = str(text or "").strip()
    try:
        hh, mm = raw.split(":")
        if len(hh) not in (1, 2) or len(mm) != 2:
            raise ValueError(raw)
        return time(int(hh), int(mm))
    except ValueError:
        raise ValidationError(f"{name} {raw!r} is not a time", {name: "must be a time HH:MM (24 h), e.g. 06:00"}) \
            from None


def parse_threshold(value: Any) -> Decimal:
    """The variance threshold in hours (0 to 24), or ValidationError on field `threshold_hours`."""
    try:
        threshold = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError("the threshold is not a number",
                              {"threshold_hours": "must be a number of hours"}) from None
    if not threshold.is_finite() or threshold < 0:
        raise ValidationError("the threshold is below zero", {"threshold_hours": "must be 0 or more hours"})
    if threshold > MAX_THRESHOLD:
        raise ValidationError("the threshold is over a day", {"threshold_hours": f"must be at most {MAX_THRESHOLD} h"})
    return threshold


def check_settings(record: Mapping[str, Any]) -> SiteSettings:
    """The whole record checked (every field's message at once), or the settings it stands for."""
    errors: dict[str, str] = {}
    zone, starts, threshold = "UTC", {}, DEFAULT_THRESHOLD
    try:
        zone = parse_zone(record.get("time_zone"))
    except ValidationError as exc:
        errors.update(exc.field_errors)
    for name in ("day_start", "night_start"):
        try:
            starts[name] = parse_start(record.get(name), name)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    try:
        threshold = parse_threshold(record.get("threshold_hours"))
    except ValidationError as exc:
        errors.update(exc.field_errors)
    if len(starts) == 2 and starts["night_start"] <= starts["day_start"]:
        # Shifts are day = [day start, night start) and night = [night start, next day start) on one date.
        errors["night_start"] = "must be later in the day than the day shift's start"
    if errors:
        first = next(iter(errors.items()))
        raise ValidationError(f"{SITE_SETTINGS}: {first[0]} {first[1]}", errors)
    return SiteSettings(ShiftPattern(zone, starts["day_start"], starts["night_start"]), threshold)


def _record_check(record: Mapping[str, Any]) -> None:
    check_settings(record)


def read_settings(record: Mapping[str, Any] | None) -> SiteSettings:
    """The settings a stored record stands for; defaults (UTC, 06:00/18:00, 0.5 h) where none is stored, and
    the default for any field that does not parse, named in `problems`."""
    if not record:
        return SiteSettings()
    default = SiteSettings()
    problems: list[str] = []
    zone, day, night, threshold = (default.pattern.time_zone, default.pattern.day_start,
                                   default.pattern.night_start, default.threshold)
    try:
        zone = parse_zone(record.get("time_zone"))
    except ValidationError as exc:
        problems.append(str(exc))
    try:
        day_t, night_t = parse_start(record.get("day_start"), "day_start"), \
            parse_start(record.get("night_start"), "night_start")
        if night_t <= day_t:
            raise ValidationError("the night shift starts before the day shift")
        day, night = day_t, night_t
    except ValidationError as exc:
        problems.append(str(exc))
    try:
        threshold = parse_threshold(record.get("threshold_hours", DEFAULT_THRESHOLD))
    except ValidationError as exc:
        problems.append(str(exc))
    return SiteSettings(ShiftPattern(zone, day, night), threshold, tuple(problems))


def settings_payload(settings: SiteSettings) -> dict[str, Any]:
    p = settings.pattern
    return {"time_zone": p.time_zone, "day_start": p.day_start.strftime("%H:%M"),
            "night_start": p.night_start.strftime("%H:%M"), "threshold_hours": float(settings.threshold)}


def holiday_id(site_id: str, day: date) -> str:
    return f"{site_id}:{day.isoformat()}"


def holidays(records: Iterable[Mapping[str, Any]]) -> dict[date, str]:
    """Date -> holiday name from `hr.public_holiday` states (unreadable dates skipped: the spec refuses them)."""
    out: dict[date, str] = {}
    for r in records:
        try:
            out[date.fromisoformat(str(r.get("day")))] = str(r.get("name") or "")
        except ValueError:
            continue
    return out


SITE_SETTINGS_SPEC = register(
    EntitySpec(
        name=SITE_SETTINGS,
        strategy=Strategy.FIELD_MERGE,
        fields={
            "time_zone": FieldSpec("str", required=True, max_length=64, label="Time zone (IANA)"),
            "day_start": FieldSpec("str", required=True, max_length=5, label="Day shift starts (HH:MM)"),
            "night_start": FieldSpec("str", required=True, max_length=5, label="Night shift starts (HH:MM)"),
            "threshold_hours": FieldSpec("number", required=True, min=0, max=MAX_THRESHOLD,
                                         label="Reconciliation threshold (hours)"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
        record_check=_record_check,
    )
)

PUBLIC_HOLIDAY_SPEC = register(
    EntitySpec(
        name=PUBLIC_HOLIDAY,
        strategy=Strategy.FIELD_MERGE,
        fields={
            "day": FieldSpec("date", required=True, label="Date"),
            "name": FieldSpec("str", required=True, max_length=128, label="Holiday"),
        },
    )
)
