"""Usage logs derived from samples in a real encrypted store: a backlog older than the recompute window
is derived in full, and the window sliding over a shift never rewrites that shift with fewer hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from edge.derive import derive_usage_logs
from edge.storage import prepare, write_batch
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
