"""A replaced hour meter, found by the gateway, reaches a real hub as an `equipment.meter_correction`
mutation, and PM computed from what the hub holds counts on with the new meter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from edge.derive import derive_usage_logs
from edge.storage import prepare, write_batch
from shared.domain.ops_views import meter_readings, pm_due
from shared.domain.shifts import ShiftPattern
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient
from shared.telemetry import TelemetrySample
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.test_push import db_fetch

KEY = PassphraseKeyProvider("meter test", n=2**10)
START = datetime(2026, 11, 1, 6, tzinfo=UTC)  # a day shift (UTC site), then the night
CHANGED = START + timedelta(hours=6)  # DT01's meter is replaced at noon: the new one starts at 0


def _samples(meter_at: dict[str, object]) -> list[tuple[str, str, TelemetrySample]]:
    rows = []
    for m in range(24 * 60):
        ts = START + timedelta(minutes=m)
        for equipment, meter in meter_at.items():
            rows.append(("north", equipment, TelemetrySample.model_validate(
                {"ts": ts.isoformat(), "engine_status": "on", "working": True, "hour_meter": meter(ts)})))  # type: ignore[operator]
    return rows


def _records(hub: HubProcess, tenant: str, entity: str) -> dict[str, dict[str, object]]:
    return {r["entity_id"]: r["data"] for r in db_fetch(
        hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2", tenant, entity)}


def test_a_replaced_meter_reaches_the_hub_as_a_correction_and_pm_follows_the_new_meter(
        live_hub: HubProcess, tmp_path: Path) -> None:
    token = provision_device(live_hub.dsn, "t-meter", "north", "gw-meter", kind="edge")
    path = tmp_path / "gw.db"

    def dt01(ts: datetime) -> float:
        hours = (ts - START).total_seconds() / 3600
        return round(4990 + hours, 4) if ts < CHANGED else round(hours - 6, 4)

    def ex02(ts: datetime) -> float:  # one glitched reading at 09:00, then the meter goes on: not a new meter
        hours = (ts - START).total_seconds() / 3600
        return 0.0 if ts == START + timedelta(hours=3) else round(700 + hours, 4)

    with LocalStore.open(path, KEY) as store:
        prepare(store)
        store.set_identity(DeviceIdentity("gw-meter", "t-meter", "north"))
        write_batch(store, _samples({"DT01": dt01, "EX02": ex02}), [])
        derive_usage_logs(store, ShiftPattern("UTC"), now=START + timedelta(days=1, minutes=5))
    SyncClient(lambda: LocalStore.open(path, KEY), live_hub.url, lambda: token).push_until_empty()
    with LocalStore.open(path, KEY) as store:
        assert store.outbox_depth() == 0 and store.rejections() == []

    corrections = _records(live_hub, "t-meter", "equipment.meter_correction")
    assert list(corrections) == [f"DT01:{CHANGED.isoformat()}:meter"]  # EX02's glitch is no meter change
    [correction] = corrections.values()
    assert correction["before"] == round(4990 + 359 / 60, 4) and correction["after"] == 0
    assert (correction["shift_date"], correction["shift"], correction["source"]) == ("2026-11-01", "day",
                                                                                     "telematics")
    logs = _records(live_hub, "t-meter", "equipment.usage_log")
    readings = meter_readings(logs.values(), corrections.values())
    plan = {"trigger": "hours", "schedule": "fixed", "interval_hours": 250, "last_done_hours": 5000}
    status = pm_due("P1", plan, readings["DT01"], date(2026, 11, 2))
    new_meter = round(1439 / 60 - 6, 4)  # the night's end reading on the new meter
    assert status.due.hours == 5250
    assert abs(status.hours_remaining - (5250 - correction["before"] - new_meter)) < 1e-6  # type: ignore[operator]
