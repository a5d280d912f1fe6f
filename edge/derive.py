"""Business records derived from samples, queued as mutations: usage logs per completed shift and
breakdowns. Derived records are what the hub and the KPIs need; they are never dropped (docs: issue 4).

Each derivation is remembered in the `derived` table, so a recompute queues only what changed: a late
sample that alters a shift's hours becomes an update of the same usage log, never a second one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.domain.machine_hours import EngineSample, machine_hours, usage_log_id, usage_log_payload
from shared.domain.shifts import ShiftPattern, shift_at
from shared.store import LocalStore
from shared.telemetry import TelemetrySample

BREAKDOWN_SEVERITIES = ("high", "critical")
ACTOR = "device:edge"


def _remembered(store: LocalStore, key: str) -> Any:
    row = store.connection.execute("SELECT value FROM derived WHERE key = ?", (key,)).fetchone()
    return None if row is None else orjson.loads(row[0])


def _remember(store: LocalStore, key: str, value: Any) -> None:
    with store.transaction() as conn:
        conn.execute("INSERT INTO derived VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (key, orjson.dumps(value).decode()))


def _equipment_ids(store: LocalStore) -> list[str]:
    """Every equipment with samples, by skipping along the primary key (cheap at millions of samples)."""
    found: list[str] = []
    current = ""
    while True:
        row = store.connection.execute("SELECT min(equipment_id) FROM samples WHERE equipment_id > ?",
                                       (current,)).fetchone()
        if row is None or row[0] is None:
            return found
        current = row[0]
        found.append(current)


def derive_usage_logs(store: LocalStore, pattern: ShiftPattern, now: datetime | None = None,
                      lookback: timedelta = timedelta(days=3), max_gap: timedelta = timedelta(minutes=5)) -> int:
    """Queue a usage log for every completed shift whose hours are new or changed. Returns how many.

    Each equipment is recomputed over the last `lookback` (late samples correct recent shifts) and, when
    it has a backlog older than that (the agent was down for days while the broker kept the messages, or a
    machine new to this gateway), from the end of the last shift derived for it, so no shift is skipped."""
    now = now or datetime.now(UTC)
    # From the start of a shift: a shift seen only in part would be recomputed with less than its hours.
    recent = shift_at(pattern, now - lookback).starts
    queued = 0
    for equipment_id in _equipment_ids(store):
        remembered = _remembered(store, f"through:{equipment_id}")
        through = None if remembered is None else datetime.fromisoformat(remembered)
        if through is None:
            first = store.connection.execute("SELECT min(ts) FROM samples WHERE equipment_id = ?",
                                             (equipment_id,)).fetchone()[0]
            since = min(recent, shift_at(pattern, datetime.fromisoformat(first)).starts)
        else:
            since = min(recent, shift_at(pattern, through - timedelta(seconds=1)).starts)
        rows = store.connection.execute(
            "SELECT ts, engine_on, working, hour_meter, site_id FROM samples WHERE equipment_id = ? AND ts >= ? "
            "ORDER BY ts", (equipment_id, since.astimezone(UTC).isoformat())).fetchall()
        if not rows:
            continue
        site_id = rows[-1][4]
        samples = [EngineSample(datetime.fromisoformat(r[0]), bool(r[1]), r[2] is None or bool(r[2]), r[3])
                   for r in rows]
        result = machine_hours(samples, pattern, max_gap=max_gap)
        for hours in sorted(result.shifts.values(), key=lambda h: h.shift.starts):
            if hours.shift.ends > now:
                continue  # not over yet
            entity_id = usage_log_id(equipment_id, hours.shift)
            payload = usage_log_payload(equipment_id, hours)
            before = _remembered(store, f"usage:{entity_id}")
            if before == payload:
                continue
            if before is None and store.get("equipment.usage_log", entity_id) is None:
                store.enqueue("equipment.usage_log", entity_id, "create", payload, actor=ACTOR, site_id=site_id)
            else:
                changed = {k: v for k, v in payload.items() if (before or {}).get(k) != v}
                store.enqueue("equipment.usage_log", entity_id, "update", changed, actor=ACTOR, site_id=site_id)
            _remember(store, f"usage:{entity_id}", payload)
            queued += 1
        done = [h.shift.ends for h in result.shifts.values() if h.shift.ends <= now]
        if done and (through is None or max(done) > through):
            _remember(store, f"through:{equipment_id}", max(done).astimezone(UTC).isoformat())
        for correction in result.corrections:
            key = f"meter:{equipment_id}:{correction.ts.isoformat()}"
            if _remembered(store, key) is None:
                _remember(store, key, {"before": correction.before, "after": correction.after})
    return queued


def derive_breakdowns(store: LocalStore) -> int:
    """Open a breakdown on a severe fault code or a breakdown flag; close it when the machine works again."""
    cursor = _remembered(store, "breakdowns:cursor") or ""
    rows = store.connection.execute(
        "SELECT equipment_id, ts, site_id, body FROM samples WHERE ts > ? ORDER BY ts", (cursor,)).fetchall()
    queued = 0
    for equipment_id, ts, site_id, body in rows:
        sample = TelemetrySample.model_validate_json(body)
        open_key = f"breakdown-open:{equipment_id}"
        current = _remembered(store, open_key)
        severe = [f for f in sample.fault_codes if f.severity in BREAKDOWN_SEVERITIES]
        if current is None and (severe or (sample.breakdown and sample.engine_status == "off")):
            entity_id = f"{equipment_id}:{ts}"
            fault = severe[0] if severe else None
            store.enqueue("equipment.breakdown", entity_id, "create", {
                "equipment_id": equipment_id, "started_at": ts, "source": "telematics",
                "fault_code": fault.code if fault else "operator-flag",
                "severity": fault.severity if fault else "high", "cause": "reported by telematics"},
                actor=ACTOR, site_id=site_id)
            _remember(store, open_key, entity_id)
            queued += 1
        elif current is not None and sample.engine_status == "on" and sample.working and not severe:
            store.enqueue("equipment.breakdown", current, "update", {"ended_at": ts}, actor=ACTOR, site_id=site_id)
            with store.transaction() as conn:
                conn.execute("DELETE FROM derived WHERE key = ?", (open_key,))
            queued += 1
        cursor = ts
    if rows:
        _remember(store, "breakdowns:cursor", cursor)
    return queued
