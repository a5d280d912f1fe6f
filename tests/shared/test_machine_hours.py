"""Shifts and machine hours against hand-computed fixtures (site in Perth, shifts 06:00 and 18:00)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.machine_hours import EngineSample, machine_hours, usage_log_id, usage_log_payload
from shared.domain.shifts import ShiftPattern, shift_at, split_by_shift
from shared.entities import validate_mutation
from shared.envelopes import Op

PERTH = ZoneInfo("Australia/Perth")
PATTERN = ShiftPattern("Australia/Perth")


def at(hh: int, mm: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=PERTH)


@pytest.mark.parametrize(("instant", "key"), [
    (at(6), "2026-11-24:day"), (at(17, 59), "2026-11-24:day"), (at(18), "2026-11-24:night"),
    (at(3, day=25), "2026-11-24:night"), (at(5, 59, day=25), "2026-11-24:night"), (at(6, day=25), "2026-11-25:day"),
])
def test_shift_at(instant: datetime, key: str) -> None:
    assert shift_at(PATTERN, instant).key == key


def test_shift_at_is_in_the_site_time_zone() -> None:
    utc_instant = datetime(2026, 11, 24, 9, 30, tzinfo=ZoneInfo("UTC"))  # 17:30 in Perth
    assert shift_at(PATTERN, utc_instant).key == "2026-11-24:day"
    with pytest.raises(ValueError):
        shift_at(PATTERN, datetime(2026, 11, 24, 9, 30))


def test_an_interval_crossing_two_boundaries_is_split() -> None:
    pieces = split_by_shift(PATTERN, at(17), at(7, day=25))
    assert [(p[0].key, (p[2] - p[1]).total_seconds() / 3600) for p in pieces] == [
        ("2026-11-24:day", 1.0), ("2026-11-24:night", 12.0), ("2026-11-25:day", 1.0)]


SCRIPT = [
    EngineSample(at(16), True, True, 1000.0),
    EngineSample(at(17), True, False, 1001.0),
    EngineSample(at(17, 30), True, True, 1001.5),
    EngineSample(at(18, 30), False, False, 1002.5),  # crosses 18:00 while operating
    EngineSample(at(19), True, True, 1002.5),
    EngineSample(at(22), True, True, 5.0),  # 3 h of silence, then a replaced meter
    EngineSample(at(23), False, False, 6.0),
]


def test_a_scripted_evening_gives_the_hand_computed_hours() -> None:
    noisy = [*SCRIPT, SCRIPT[1], SCRIPT[4]]  # duplicates
    random.Random(3).shuffle(noisy)  # and out of order
    result = machine_hours(noisy, PATTERN, max_gap=timedelta(minutes=90))
    day, night = result.shifts["2026-11-24:day"], result.shifts["2026-11-24:night"]
    assert (day.hours("operating"), day.hours("idle"), day.hours("off"), day.hours("unknown")) == (1.5, 0.5, 0, 0)
    assert (night.hours("operating"), night.hours("idle"), night.hours("off"), night.hours("unknown")) == (
        1.5, 0, 0.5, 3.0)
    assert day.meter_hours == pytest.approx(1.5) and night.meter_hours == pytest.approx(2.0)
    assert [(c.before, c.after) for c in result.corrections] == [(1002.5, 5.0)]  # recorded, never negative hours
    assert (day.meter_start, day.meter_end) == (1000.0, 1001.5)


def test_usage_log_is_a_valid_mutation_with_a_stable_key() -> None:
    result = machine_hours(SCRIPT, PATTERN, max_gap=timedelta(minutes=90))
    night = result.shifts["2026-11-24:night"]
    payload = usage_log_payload("DT01", night)
    validate_mutation("equipment.usage_log", Op.CREATE, payload)
    assert usage_log_id("DT01", night.shift) == "DT01:2026-11-24:night:telematics"
    again = machine_hours(list(reversed(SCRIPT)), PATTERN, max_gap=timedelta(minutes=90))
    assert usage_log_payload("DT01", again.shifts["2026-11-24:night"]) == payload  # a recompute replaces


def test_every_second_is_accounted_for() -> None:
    rnd = random.Random(11)
    t = at(5)
    samples = []
    for _ in range(500):
        samples.append(EngineSample(t, rnd.random() < 0.7, rnd.random() < 0.8, None))
        t += timedelta(minutes=rnd.choice([1, 2, 3, 10]))
    result = machine_hours(samples, PATTERN)
    total = sum(sum(h.seconds.values()) for h in result.shifts.values())
    assert total == (samples[-1].ts - samples[0].ts).total_seconds()
    assert {h.shift.shift_date for h in result.shifts.values()} <= {date(2026, 11, 23), date(2026, 11, 24),
                                                                      date(2026, 11, 25)}


def test_a_gap_across_a_fall_back_night_counts_its_real_13_hours() -> None:
    """Santiago's clocks go back at 00:00 on 5 April 2026; a gap from 17:00 -03 to 07:00 -04 is 15 real hours."""
    santiago = ShiftPattern("America/Santiago")
    utc = ZoneInfo("UTC")
    result = machine_hours([EngineSample(datetime(2026, 4, 4, 20, tzinfo=utc), True),
                            EngineSample(datetime(2026, 4, 5, 11, tzinfo=utc), True)], santiago)
    unknown = {key: hours.hours("unknown") for key, hours in result.shifts.items()}
    assert unknown == {"2026-04-04:day": 1.0, "2026-04-04:night": 13.0, "2026-04-05:day": 1.0}
    night = usage_log_payload("DT01", result.shifts["2026-04-04:night"])
    validate_mutation("equipment.usage_log", Op.CREATE, night)  # 13 h is a shift, not an error


def test_an_instant_in_the_repeated_hour_falls_in_the_shift_its_instant_belongs_to() -> None:
    # Sydney falls back at 03:00 AEDT on 5 Apr 2026 to 02:00 AEST: 02:00-03:00 happens twice. A site whose day
    # shift starts at 02:30: the second 02:15 (16:15 UTC) comes after the 02:30 AEDT start (15:30 UTC), so it is
    # in the day shift, though its wall clock reads earlier.
    pattern = ShiftPattern("Australia/Sydney", day_start=time(2, 30), night_start=time(14, 30))
    second_0215 = datetime(2026, 4, 4, 16, 15, tzinfo=UTC)
    assert second_0215.astimezone(pattern.zone).strftime("%H:%M %Z") == "02:15 AEST"
    shift = shift_at(pattern, second_0215)
    assert (shift.shift_date, shift.name) == (date(2026, 4, 5), "day")
    first_0215 = datetime(2026, 4, 4, 15, 15, tzinfo=UTC)  # 02:15 AEDT: still the night before
    assert (shift_at(pattern, first_0215).shift_date, shift_at(pattern, first_0215).name) == (date(2026, 4, 4), "night")
