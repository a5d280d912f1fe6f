"""The JSON fast path (edge/decode.py) answers exactly as the model: the same row, or a dead letter."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.decode import _fast, json_row, sample_row, stored_points
from shared.telemetry import Location, TelemetryError, TelemetrySample, parse_message, sample_points

TOPIC = "site/north/equipment/DT01/telemetry"


def _slow(topic: str, payload: bytes) -> tuple[object, ...] | str:
    try:
        site, equipment, sample = parse_message(topic, payload)
    except TelemetryError as exc:
        return exc.reason
    return sample_row(site, equipment, sample)


def _same(topic: str, payload: bytes) -> None:
    fast = _fast(topic, payload)
    slow = _slow(topic, payload)
    if not isinstance(slow, str):  # a valid payload kept as it came is read back by the uplink the same way
        expected = sample_points("DT01", TelemetrySample.model_validate_json(payload))
        assert stored_points("DT01", str(slow[1]), payload.decode()) == expected
    if fast is None:
        return  # the fast path declined: json_row asks the model, whose answer is `slow`
    assert not isinstance(slow, str), f"fast path accepted what the model refuses ({slow}): {payload!r}"
    assert fast[:6] == slow[:6]
    assert TelemetrySample.model_validate_json(fast[6]) == TelemetrySample.model_validate_json(str(slow[6]))


timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-24T06:00:00Z", "2026-11-24T06:00:00", "2026-11-24T06:00:00.5+08:00",
                     "2026-02-30T06:00:00+00:00", "2026-11-24T25:00:00+00:00", "2026-11-24 06:00:00+00:00",
                     "2026-11-24T06:00:00+24:00", "yesterday", "2026-11-24T06:00:00.1234567+00:00"]),
    st.integers(-2**40, 2**40), st.none())
values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=5), st.just([]), st.just([{"code": "E1", "severity": "high"}]),
                   st.just({"lat": 1.0, "lon": 2.0}))
FIELDS = ("working", "breakdown", "hour_meter", "idle_hours", "fuel_used_l", "fuel_remaining_pct", "distance_km",
          "fault_codes", "location", "extra", "ts", "engine_status")
numbers = st.one_of(st.floats(min_value=0, max_value=100), st.integers(0, 100), st.floats(0, 1e7))
valid = st.fixed_dictionaries(
    {"ts": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
     "engine_status": st.sampled_from(["on", "off"])},
    optional={"working": st.one_of(st.booleans(), st.none()), "breakdown": st.booleans(), "fault_codes": st.just([]),
              "location": st.none(), "extra": values,
              **{name: st.one_of(numbers, st.none()) for name in ("hour_meter", "idle_hours", "fuel_used_l",
                                                                  "fuel_remaining_pct", "distance_km")}})
# a valid sample, or one with a single field set to anything (the fast path's checks meet their edges there)
payloads = st.one_of(valid, st.tuples(valid, st.sampled_from(FIELDS), st.one_of(values, timestamps)).map(
    lambda t: {**t[0], t[1]: t[2]}))


@settings(max_examples=600, deadline=None)
@given(payloads)
def test_the_fast_path_agrees_with_the_model(payload: dict[str, object]) -> None:
    _same(TOPIC, orjson.dumps(payload))


def test_typical_samples_take_the_fast_path_and_odd_ones_get_the_models_reason() -> None:
    good = orjson.dumps({"ts": "2026-11-24T17:30:00+08:00", "engine_status": "on", "working": True,
                         "hour_meter": 10421.5, "fuel_remaining_pct": 62, "unknown": "ignored"})
    assert _fast(TOPIC, good) is not None
    _same(TOPIC, good)
    assert json_row(TOPIC, good)[:6] == ("DT01", "2026-11-24T09:30:00+00:00", "north", 1, 1, 10421.5)
    for bad, reason in [(b"not json", "not JSON"), (b"[1]", "JSON object"),
                        (b'{"ts": "2026-11-24T06:00:00", "engine_status": "on"}', "time zone"),
                        (b'{"ts": "2026-11-24T06:00:00Z", "engine_status": "on", "fuel_remaining_pct": 101}',
                         "fuel_remaining_pct"),
                        # Past datetime's range once in UTC: was an OverflowError, dead-lettered as "internal error"
                        (b'{"ts": "9999-12-31T23:00:00-05:00", "engine_status": "on"}', "outside the range"),
                        (b'{"ts": "0001-01-01T01:00:00+05:00", "engine_status": "on"}', "outside the range")]:
        assert _fast(TOPIC, bad) is None
        try:
            json_row(TOPIC, bad)
        except TelemetryError as exc:
            assert reason in exc.reason
        else:
            raise AssertionError(f"{bad!r} was accepted")
    for topic in ("site/north/equipment/telemetry", "site//equipment/DT01/telemetry", "spBv1.0/a/DDATA/b/c"):
        assert _fast(topic, good) is None


faults = st.lists(st.fixed_dictionaries({"code": st.text(min_size=1, max_size=8),
                                         "severity": st.sampled_from(["low", "medium", "high", "critical"])}),
                  max_size=2)
samples = st.builds(
    TelemetrySample, ts=st.datetimes(timezones=st.timezones()), engine_status=st.sampled_from(["on", "off"]),
    working=st.one_of(st.none(), st.booleans()), hour_meter=st.one_of(st.none(), st.floats(0, 1e6)),
    idle_hours=st.one_of(st.none(), st.floats(0, 1e6)), fuel_remaining_pct=st.one_of(st.none(), st.floats(0, 100)),
    distance_km=st.one_of(st.none(), st.integers(0, 10**6)), fault_codes=st.one_of(st.just([]), faults),
    location=st.one_of(st.none(), st.builds(Location, lat=st.floats(-90, 90), lon=st.floats(-180, 180))),
    breakdown=st.booleans())


@settings(max_examples=400, deadline=None)
@given(samples)
def test_stored_samples_become_the_same_points_as_through_the_model(sample: TelemetrySample) -> None:
    row = sample_row("north", "DT01", sample)  # as the store keeps it (model body)
    assert stored_points("DT01", row[1], row[6]) == sample_points("DT01", sample)
    fast = _fast(TOPIC, sample.model_dump_json().encode())
    if fast is not None:  # as the fast path keeps it
        assert stored_points("DT01", fast[1], fast[6]) == sample_points("DT01", sample)


def test_an_unreadable_stored_body_is_a_validation_error() -> None:
    for body in ("odd", "[]", '{"ts": "2026-11-24T06:00:00+00:00"}'):
        with pytest.raises(ValidationError):
            stored_points("DT01", "2026-11-24T06:00:00+00:00", body)
