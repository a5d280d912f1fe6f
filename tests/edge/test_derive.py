"""Usage logs derived from samples in a real encrypted store: a backlog older than the recompute window
is derived in full, the window sliding over a shift never rewrites that shift with fewer hours, a 13-hour
fall-back night is a valid shift, and a record that cannot be queued is quarantined without blocking the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from edge.budget import _thin
from edge.decode import SampleRow
from edge.derive import derive_breakdowns, derive_usage_logs
from edge.storage import prepare, status, write_batch, write_rows
from shared.domain.shifts import ShiftPattern
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from shared.telemetry import TelemetrySample

KEY = PassphraseKeyProvider("derive test", n=2**10)
PATTERN = ShiftPattern("UTC")  # shifts 06:00-18:00 and 18:00-06:00
START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def _store(path: Path) -> LocalStore:
    store = LocalStore.open(path, KEY)
    prepare(store)
    if store.identity is None:
        store.set_identity(DeviceIdentity("gw", "t", "north"))
    return store


def _minutes(store: LocalStore, start: datetime, minutes: int) -> None:
    """One sample a minute, engine on and working, for DT01."""
    rows = [("north", "DT01", TelemetrySample.model_validate({
        "ts": (start + timedelta(minutes=m)).isoformat(), "engine_status": "on", "working": True,
        "hour_meter": 1000 + (start + timedelta(minutes=m) - START).total_seconds() / 3600}))
        for m in range(minutes)]
    write_batch(store, rows, [])


def _logs(store: LocalStore) -> dict[str, float]:
    return {entity_id: orjson.loads(state)["operating_hours"] for entity_id, state in store.connection.execute(
        "SELECT entity_id, local_state FROM records WHERE entity = 'equipment.usage_log'")}


def test_a_backlog_older_than_the_window_is_derived_in_full(tmp_path: Path) -> None:
    """Six days of samples arrive at once (the broker kept them while the gateway was down)."""
    with _store(tmp_path / "gw.db") as store:
        _minutes(store, START, 6 * 24 * 60)
        now = START + timedelta(days=6, minutes=5)
        assert derive_usage_logs(store, PATTERN, now=now, lookback=timedelta(days=3)) == 12
        logs = _logs(store)
    assert len(logs) == 12  # every shift of the six days, not only the last three
    assert all(abs(hours - 12.0) < 0.05 for hours in logs.values()), logs


def test_the_window_sliding_over_a_shift_does_not_shrink_it(tmp_path: Path) -> None:
    with _store(tmp_path / "gw.db") as store:
        _minutes(store, START, 3 * 24 * 60)
        first = START + timedelta(days=3, minutes=1)
        derive_usage_logs(store, PATTERN, now=first, lookback=timedelta(days=2))
        before = _logs(store)
        depth = store.outbox_depth()
        # Hours later the window starts in the middle of the first shifts: nothing may change.
        for hours in range(1, 30, 3):
            derive_usage_logs(store, PATTERN, now=first + timedelta(hours=hours), lookback=timedelta(days=2))
        assert _logs(store) == before
        assert store.outbox_depth() == depth


# Chile's clocks go back at 00:00 on 5 April 2026: the night shift of the 4th (18:00 -03 to 06:00 -04) is 13 h.
SANTIAGO = ShiftPattern("America/Santiago")
FALL_BACK_NIGHT = (datetime(2026, 4, 4, 21, tzinfo=UTC), datetime(2026, 4, 5, 10, tzinfo=UTC))


def _row(equipment: str, ts: datetime, meter: float, faults: list[dict[str, str]] | None = None) -> SampleRow:
    """A stored row as the ingest writes it; a negative meter is what an older, laxer version could have kept."""
    body = {"ts": ts.isoformat(), "engine_status": "on", "working": True, "hour_meter": meter,
            "fault_codes": faults or []}
    return (equipment, ts.isoformat(), "north", 1, 1, meter, orjson.dumps(body).decode())


def _every_minute(equipment: str, start: datetime, end: datetime, meter: float) -> list[SampleRow]:
    minutes = int((end - start) / timedelta(minutes=1))
    return [_row(equipment, start + timedelta(minutes=m), meter + m / 60) for m in range(minutes + 1)]


def test_a_13_hour_fall_back_night_is_derived_and_a_bad_record_is_quarantined_while_the_rest_go_on(
        tmp_path: Path) -> None:
    night_starts, night_ends = FALL_BACK_NIGHT
    day_starts = night_starts - timedelta(hours=12)
    with _store(tmp_path / "gw.db") as store:
        # AA01 sorts first: its day shift of the 4th cannot be a valid usage log (negative meter readings).
        rows = _every_minute("AA01", day_starts, night_starts - timedelta(minutes=1), -800.0)
        rows += _every_minute("AA01", night_starts, night_ends, 100.0)
        rows += _every_minute("DT01", night_starts, night_ends + timedelta(minutes=30), 5000.0)
        rows.append(_row("DT01", night_ends + timedelta(minutes=31), 5013.6, [{"code": "ENG-1", "severity": "high"}]))
        write_rows(store, rows, [])
        now = night_ends + timedelta(hours=2)
        derive_usage_logs(store, SANTIAGO, now=now)
        derive_breakdowns(store)
        logs = {r.entity_id: r.state or {} for r in store.query("equipment.usage_log")}
        breakdowns = [r.entity_id for r in store.query("equipment.breakdown")]
        held = store.connection.execute("SELECT entity, entity_id, reason FROM quarantine ORDER BY 1, 2").fetchall()
        depth = store.outbox_depth()
        derive_usage_logs(store, SANTIAGO, now=now)  # the next round retries it: still one row, nothing doubled
        again = store.connection.execute("SELECT entity_id, times FROM quarantine ORDER BY 1").fetchall()
        report = status(store)
        assert store.outbox_depth() == depth
    assert logs["DT01:2026-04-04:night:telematics"]["operating_hours"] == pytest.approx(13.0, abs=0.02)
    assert logs["AA01:2026-04-04:night:telematics"]["operating_hours"] == pytest.approx(13.0, abs=0.02)
    assert "AA01:2026-04-04:day:telematics" not in logs
    assert breakdowns == [f"DT01:{(night_ends + timedelta(minutes=31)).isoformat()}"]
    # Held for a person: the bad shift, and (one row for the machine) the stored samples breakdowns cannot read.
    assert [(e, i) for e, i, _ in held] == [("edge.sample", "AA01"),
                                            ("equipment.usage_log", "AA01:2026-04-04:day:telematics")]
    assert "hour_meter" in held[0][2] and "hour_meter_start must be at least 0" in held[1][2]
    assert again == [("AA01", 720), ("AA01:2026-04-04:day:telematics", 2)]
    assert report["quarantined"] == 2 and any("hour_meter_start" in r for r in report["quarantine_reasons"])


def _outbox(store: LocalStore) -> list[tuple[str, str]]:
    return [(orjson.loads(body)["op"], orjson.loads(body)["entity_id"])
            for (body,) in store.connection.execute("SELECT body FROM outbox ORDER BY device_seq")]


def test_a_late_sample_older_than_the_window_recomputes_its_shift_as_an_update_of_the_same_log(
        tmp_path: Path) -> None:
    """Four days of samples with an hour missing on the first day shift; the hour arrives after the window
    (and the last derived shift) has moved past it: that shift's log is replaced, never doubled."""
    hole = (START + timedelta(hours=3), START + timedelta(hours=4))
    with _store(tmp_path / "gw.db") as store:
        _minutes(store, START, 180)
        _minutes(store, hole[1], 4 * 24 * 60 - 240)
        now = START + timedelta(days=4, minutes=5)
        assert derive_usage_logs(store, PATTERN, now=now, lookback=timedelta(days=1)) == 8
        first_day = "DT01:2026-11-01:day:telematics"
        assert _logs(store)[first_day] == pytest.approx(11.0, abs=0.02)
        queued = _outbox(store)
        _minutes(store, hole[0], 60)  # the broker kept them; the gateway receives them days late
        later = now + timedelta(minutes=30)
        assert derive_usage_logs(store, PATTERN, now=later, lookback=timedelta(days=1)) == 1
        assert derive_usage_logs(store, PATTERN, now=later, lookback=timedelta(days=1)) == 0  # done once
        logs, outbox = _logs(store), _outbox(store)
        unknown = (store.get("equipment.usage_log", first_day).state or {})["unknown_hours"]
    assert logs[first_day] == pytest.approx(12.0, abs=0.02) and unknown == 0
    assert len(logs) == 8  # the same record, not a ninth
    assert outbox == [*queued, ("update", first_day)]


def test_a_late_sample_into_a_shift_the_disk_budget_thinned_does_not_shrink_its_log(tmp_path: Path) -> None:
    hole = (START + timedelta(hours=3), START + timedelta(hours=4))
    with _store(tmp_path / "gw.db") as store:
        _minutes(store, START, 180)
        _minutes(store, hole[1], 4 * 24 * 60 - 240)
        now = START + timedelta(days=4, minutes=5)
        derive_usage_logs(store, PATTERN, now=now, lookback=timedelta(days=1))
        before = _logs(store)
        # The budget kept one sample an hour of the first day (edge/budget.py's own step).
        assert _thin(store, "DT01", START.isoformat(), (START + timedelta(days=1)).isoformat(), False, 60) > 0
        depth = store.outbox_depth()
        _minutes(store, hole[0], 60)
        derive_usage_logs(store, PATTERN, now=now + timedelta(minutes=30), lookback=timedelta(days=1))
        assert _logs(store) == before and store.outbox_depth() == depth
